using System.Globalization;
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

        - **Machine:** {MachineInfo.Summary(withMemory: true)}
        - **Date:** {MachineInfo.UtcNow()} UTC; load average at the start {MachineInfo.LoadAverage()} (other work on the machine skews the numbers)
        - **Command:** `{o.Command}` (from the repository root)
        - **Method:** the tool builds the registry in Release and starts it as its own process on loopback ports, once per store: SQLite (a file in a temporary folder, WAL) and PostgreSQL 15 (a private server started with `infra/postgres.sh`, same machine, default settings). Blobs go to the filesystem blob store in both cases. Client, registry and database share the same cores. Latency is Stopwatch time from send to answer, one caller, calls one after the other; percentiles are nearest-rank.

        """;

    private void Append(string line)
    {
        _body.AppendLine(line);
        live.WriteLine(line);
    }
}
