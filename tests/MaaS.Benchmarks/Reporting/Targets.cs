using System.Globalization;
using MaaS.Benchmarks.Load;

namespace MaaS.Benchmarks.Reporting;

/// <summary>What the scenarios measured that issue 3's targets are judged on; null = not measured.</summary>
public sealed class Measured
{
    /// <summary>Scenario a, by concurrency.</summary>
    public Dictionary<int, Stats> Direct { get; } = [];

    /// <summary>Scenario c, by concurrency.</summary>
    public Dictionary<int, Stats> EmptyCall { get; } = [];

    /// <summary>Scenario d without dynamic batching.</summary>
    public Stats? MlpUnbatched { get; set; }

    /// <summary>Scenario d with dynamic batching.</summary>
    public Stats? MlpBatched { get; set; }

    /// <summary>Scenario e before any swap.</summary>
    public Stats? SwapSteady { get; set; }

    /// <summary>Scenario e inside the swap windows.</summary>
    public Stats? SwapWindow { get; set; }

    /// <summary>Scenario e: failed requests over the whole swap run.</summary>
    public int? SwapFailures { get; set; }

    /// <summary>Scenario f: resident memory before the cycles and after them and a settle.</summary>
    public (long Before, long After)? Rss { get; set; }

    /// <summary>Scenario f: cycles run.</summary>
    public int Cycles { get; set; }

    /// <summary>Why a scenario could not give its numbers, by letter.</summary>
    public Dictionary<string, string> NotRun { get; } = [];
}

/// <summary>The "Targets" table: each target of issue 3, the measured value, met or missed by how much.</summary>
public static class Targets
{
    /// <summary>Writes the table.</summary>
    public static void Write(MarkdownReport report, Measured m)
    {
        report.Section("Targets", "Issue 3's targets, judged on the numbers above (one run, client and services on the same cores).");
        report.TableHeader("target", "measured", "verdict");

        // 1. Direct throughput at 16 vs the empty call at 16.
        if (m.Direct.TryGetValue(16, out var d16) && m.EmptyCall.TryGetValue(16, out var c16) && c16.Throughput > 0)
        {
            var ratio = d16.Throughput / c16.Throughput;
            report.Row("direct ModelInfer throughput at concurrency 16 ≥ 0.8 × empty-call ceiling",
                $"{MarkdownReport.Rate(d16.Throughput)} vs {MarkdownReport.Rate(c16.Throughput)} req/s = {MarkdownReport.X(ratio)}",
                Verdict(ratio >= 0.8, $"{MarkdownReport.Pct((0.8 - ratio) / 0.8)} short of 0.8×"));
        }
        else
        {
            report.Row("direct ModelInfer throughput at concurrency 16 ≥ 0.8 × empty-call ceiling", "–", NotMeasured(m, "a", "c"));
        }

        // 2. p99 at concurrency 1, direct.
        if (m.Direct.TryGetValue(1, out var d1) && !double.IsNaN(d1.P99))
        {
            report.Row("p99 at concurrency 1, direct ≤ 1 ms", $"{MarkdownReport.Ms(d1.P99)} ms",
                Verdict(d1.P99 <= 1.0, $"{MarkdownReport.Ms(d1.P99 - 1.0)} ms over"));
        }
        else
        {
            report.Row("p99 at concurrency 1, direct ≤ 1 ms", "–", NotMeasured(m, "a"));
        }

        // 3. Dynamic batching on the MLP at 64.
        if (m.MlpBatched is { } b && m.MlpUnbatched is { } u && u.Throughput > 0)
        {
            var gain = b.Throughput / u.Throughput;
            report.Row("MLP at concurrency 64: batching ≥ 2 × unbatched throughput",
                $"{MarkdownReport.Rate(b.Throughput)} vs {MarkdownReport.Rate(u.Throughput)} req/s = {MarkdownReport.X(gain)}",
                Verdict(gain >= 2, $"{MarkdownReport.X(gain)} instead of 2×"));
            report.Row("MLP at concurrency 64: batched p99 no worse",
                $"{MarkdownReport.Ms(b.P99)} vs {MarkdownReport.Ms(u.P99)} ms",
                Verdict(b.P99 <= u.P99, $"{MarkdownReport.Ms(b.P99 - u.P99)} ms worse"));
        }
        else
        {
            report.Row("MLP at concurrency 64: batching ≥ 2 × unbatched throughput, p99 no worse", "–", NotMeasured(m, "d"));
        }

        // 4. Swap under load.
        if (m.SwapSteady is { } steady && m.SwapWindow is { } window && m.SwapFailures is { } failures)
        {
            report.Row("version swap at concurrency 16: zero failed requests", failures.ToString(CultureInfo.InvariantCulture),
                Verdict(failures == 0, $"{failures} failed"));
            var ratio = window.P99 / steady.P99;
            report.Row("version swap: p99 during the swap ≤ 2 × steady p99",
                $"{MarkdownReport.Ms(window.P99)} vs {MarkdownReport.Ms(steady.P99)} ms = {MarkdownReport.X(ratio)}",
                Verdict(ratio <= 2, $"{MarkdownReport.X(ratio)} instead of ≤ 2×"));
        }
        else
        {
            report.Row("version swap at concurrency 16: zero failures, p99 ≤ 2 × steady", "–", NotMeasured(m, "e"));
        }

        // 5. Memory over load/unload cycles.
        if (m.Rss is { } rss)
        {
            var growth = (rss.After - rss.Before) / (double)rss.Before;
            report.Row($"{m.Cycles:#,0} load/unload cycles: resident memory grows < 10 %",
                $"{MarkdownReport.MiB(rss.Before)} → {MarkdownReport.MiB(rss.After)} ({MarkdownReport.Pct(growth)})",
                Verdict(growth < 0.10, $"{MarkdownReport.Pct(growth - 0.10)} over"));
        }
        else
        {
            report.Row("1,000 load/unload cycles: resident memory grows < 10 %", "–", NotMeasured(m, "f"));
        }
    }

    private static string Verdict(bool met, string miss) => met ? "met" : "missed: " + miss;

    private static string NotMeasured(Measured m, params string[] scenarios)
    {
        var why = scenarios.Where(m.NotRun.ContainsKey).Select(s => $"{s}: {m.NotRun[s]}").ToList();
        return why.Count > 0 ? "not measured (" + string.Join("; ", why) + ")" : "not measured (scenario " + string.Join(", ", scenarios) + " not selected)";
    }
}
