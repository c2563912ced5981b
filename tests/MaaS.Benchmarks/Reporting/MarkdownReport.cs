using System.Globalization;
using System.Text;
using MaaS.Benchmarks.Load;

namespace MaaS.Benchmarks.Reporting;

/// <summary>
/// The markdown document: each section is echoed to stdout as it is measured (a row per cell), and
/// the whole document, with the header and the targets, is returned at the end.
/// </summary>
public sealed class MarkdownReport(TextWriter live)
{
    /// <summary>Column headers of a load table.</summary>
    public static readonly string[] LoadColumns = ["concurrency", "throughput (req/s)", "p50 (ms)", "p90 (ms)", "p99 (ms)", "errors"];

    private readonly StringBuilder _body = new();

    /// <summary>Starts a section with a heading and a sentence saying what it measures.</summary>
    public void Section(string title, string description)
    {
        Append($"\n## {title}\n\n{description}");
    }

    /// <summary>Starts a table.</summary>
    public void TableHeader(params string[] columns)
    {
        Append("");
        Append("| " + string.Join(" | ", columns) + " |");
        Append("|" + string.Concat(columns.Select(_ => " --- |")));
    }

    /// <summary>One row.</summary>
    public void Row(params string[] cells) => Append("| " + string.Join(" | ", cells) + " |");

    /// <summary>A load row: label, then throughput, percentiles and errors.</summary>
    public void LoadRow(string label, Stats s) => Row(label, Rate(s.Throughput), Ms(s.P50), Ms(s.P90), Ms(s.P99), s.Errors.ToString(CultureInfo.InvariantCulture));

    /// <summary>A paragraph (after a table, a blank line first).</summary>
    public void Note(string text) => Append($"\n{text}");

    /// <summary>The body so far.</summary>
    public string Body => _body.ToString();

    /// <summary>Milliseconds with 3 decimals below 10 ms.</summary>
    public static string Ms(double ms) => double.IsNaN(ms) ? "–" : ms < 10 ? ms.ToString("0.000", CultureInfo.InvariantCulture) : ms.ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>A rate without decimals, with thousands separators.</summary>
    public static string Rate(double perSecond) => perSecond.ToString("#,0", CultureInfo.InvariantCulture);

    /// <summary>Bytes as MiB.</summary>
    public static string MiB(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";

    /// <summary>A ratio with 2 decimals.</summary>
    public static string X(double ratio) => double.IsNaN(ratio) ? "–" : ratio.ToString("0.00", CultureInfo.InvariantCulture) + "×";

    /// <summary>A percentage with 1 decimal.</summary>
    public static string Pct(double fraction) => double.IsNaN(fraction) ? "–" : (fraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    private void Append(string line)
    {
        _body.AppendLine(line);
        live.WriteLine(line);
        live.Flush();
    }
}
