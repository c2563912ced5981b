using System.Globalization;
using System.Runtime.InteropServices;

namespace MaaS.Testing;

/// <summary>The machine a report's numbers were taken on, from /proc where Linux has it.</summary>
public static class MachineInfo
{
    /// <summary>"N cores, CPU model, [M GiB RAM, ]OS, .NET version" for a report's Machine line.</summary>
    public static string Summary(bool withMemory) =>
        $"{Environment.ProcessorCount} cores, {CpuModel()}, {(withMemory ? MemoryGiB() + " GiB RAM, " : "")}{RuntimeInformation.OSDescription}, .NET {Environment.Version}";

    /// <summary>The current UTC time as a report's date, "yyyy-MM-dd HH:mm".</summary>
    public static string UtcNow() => DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    /// <summary>The 1, 5 and 15 minute load averages as "a / b / c"; "unknown" without /proc.</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>Total memory in whole GiB; "?" when /proc/meminfo cannot be read.</summary>
    public static string MemoryGiB()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kb = long.Parse(line["MemTotal:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            return (kb / 1048576.0).ToString("0", CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or FormatException)
        {
            return "?";
        }
    }

    /// <summary>The CPU's model name; the architecture when /proc/cpuinfo does not say.</summary>
    public static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? RuntimeInformation.ProcessArchitecture.ToString() : line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
            return RuntimeInformation.ProcessArchitecture.ToString();
        }
    }
}
