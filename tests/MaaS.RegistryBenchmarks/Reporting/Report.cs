using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace MaaS.RegistryBenchmarks.Reporting;

/// <summary>
/// The markdown document: each line is echoed to stdout as it is written, and the whole document,
/// with its header and the targets, is returned at the end.
/// </summary>
public sealed class Report(TextWriter live)
{
    private readonly StringBuilder _body = new();

    /// <summary>A section heading and a sentence saying what it measures.</summary>
    public void Section(string title, string description) => Append($"\n## {title}\n\n{description}");

    /// <summary>Starts a table.</summary>
    public void TableHeader(params string[] columns)
    {
        Append("");
        Append("| " + string.Join(" | ", columns) + " |");
        Append("|" + string.Concat(columns.Select(_ => " --- |")));
    }

    /// <summary>One row.</summary>
    public void Row(params string[] cells) => Append("| " + string.Join(" | ", cells) + " |");

    /// <summary>A paragraph.</summary>
    public void Note(string text) => Append($"\n{text}");

    /// <summary>The body so far.</summary>
    public string Body => _body.ToString();

    /// <summary>A number with thousands separators and <paramref name="decimals"/> decimals.</summary>
    public static string Num(double value, int decimals = 0) =>
        double.IsNaN(value) ? "–" : value.ToString("#,0" + (decimals > 0 ? "." + new string('0', decimals) : ""), CultureInfo.InvariantCulture);

    /// <summary>The document's header: title, machine, date, command.</summary>
    public static string Header(BenchOptions o) => $"""
        # Registry benchmarks — metadata stores, artifact uploads, queries, events across a broker outage

        - **Machine:** {Environment.ProcessorCount} cores, {CpuModel()}, {MemoryGiB()} GiB RAM, {RuntimeInformation.OSDescription}, .NET {Environment.Version}
        - **Date:** {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC; load average at the start {LoadAverage()} (other work on the machine skews the numbers)
        - **Command:** `{o.Command}` (from the repository root)
        - **Method:** the tool builds the registry in Release and starts it as its own process on loopback ports, once per store: SQLite (a file in a temporary folder, WAL) and PostgreSQL 15 (a private server started with `infra/postgres.sh`, same machine, default settings). Blobs go to the filesystem blob store in both cases. Client, registry and database share the same cores. Latency is Stopwatch time from send to answer, one caller, calls one after the other; percentiles are nearest-rank.

        """;

    private void Append(string line)
    {
        _body.AppendLine(line);
        live.WriteLine(line);
    }

    private static string LoadAverage()
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

    private static string MemoryGiB()
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

    private static string CpuModel()
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
