using System.Globalization;

namespace MaaS.TrainerBenchmarks.Hosting;

/// <summary>CPU seconds (user + system) used so far, per group of processes and by the whole machine.</summary>
/// <param name="Groups">Group name (trainers, registry, broker, client) → CPU seconds of its processes.</param>
/// <param name="MachineBusy">Busy CPU seconds of every core of the machine (/proc/stat, all processes, other work included).</param>
public sealed record CpuSample(IReadOnlyDictionary<string, double> Groups, double MachineBusy)
{
    /// <summary>What each group (and the machine) used between <paramref name="before"/> and this sample.</summary>
    public CpuSample Since(CpuSample before) => new(
        Groups.ToDictionary(g => g.Key, g => g.Value - before.Groups.GetValueOrDefault(g.Key)),
        MachineBusy - before.MachineBusy);

    /// <summary>CPU seconds of the mesh's own processes.</summary>
    public double Mesh => Groups.Values.Sum();
}

/// <summary>
/// Reads CPU time from /proc: utime + stime of each process in /proc/PID/stat (threads included; children that
/// have exited are not), and the machine's busy time from /proc/stat. The queue scenario uses it to show how much
/// CPU a job costs next to the cores there are.
/// </summary>
public static class CpuClock
{
    // USER_HZ: /proc reports times in clock ticks of 1/100 s on Linux (sysconf(_SC_CLK_TCK) on every common build).
    private const double TicksPerSecond = 100;

    /// <summary>A sample of the named processes' CPU time; a process that cannot be read counts 0.</summary>
    public static CpuSample Sample(IReadOnlyDictionary<string, IReadOnlyList<int>> groups) => new(
        groups.ToDictionary(g => g.Key, g => g.Value.Sum(Process)),
        Machine());

    /// <summary>This process's id.</summary>
    public static int Self => Environment.ProcessId;

    /// <summary>The process id in a pid file, or null when it cannot be read.</summary>
    public static int? PidFromFile(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static double Process(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may hold spaces; count fields after its ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }

    private static double Machine()
    {
        try
        {
            var cpu = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            var v = cpu.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            // user nice system idle iowait irq softirq steal guest guest_nice: busy = user + nice + system + irq + softirq
            // (guest time is already inside user and nice; idle, iowait and steal are not this machine's work).
            var busy = v[0] + v[1] + v[2] + v[5] + v[6];
            return busy / TicksPerSecond;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return double.NaN;
        }
    }
}
