using System.Globalization;

namespace MaaS.Benchmarks.Load;

/// <summary>
/// CPU time a process spent (user + system, from /proc/&lt;pid&gt;/stat) between two readings: on a
/// shared machine the cost per call is steadier than throughput, which also moves with the neighbours' load.
/// </summary>
public static class CpuMeter
{
    // Linux reports utime and stime in clock ticks of 1/100 s (USER_HZ) on every common configuration.
    private const double TicksPerSecond = 100;

    /// <summary>CPU seconds the process has used so far; NaN when /proc cannot tell.</summary>
    public static double Seconds(int pid) => UserAndSystem(pid) is var (user, system) ? user + system : double.NaN;

    /// <summary>User and system CPU seconds the process has used so far; NaN, NaN when /proc cannot tell.</summary>
    public static (double User, double System) UserAndSystem(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state): utime is field 14, stime field 15.
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) / TicksPerSecond,
                long.Parse(fields[12], CultureInfo.InvariantCulture) / TicksPerSecond);
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return (double.NaN, double.NaN);
        }
    }

    /// <summary>Microseconds of CPU per call, or NaN when nothing was measured.</summary>
    public static double MicrosPerCall(double cpuSeconds, int calls) =>
        calls > 0 && !double.IsNaN(cpuSeconds) ? cpuSeconds * 1e6 / calls : double.NaN;
}
