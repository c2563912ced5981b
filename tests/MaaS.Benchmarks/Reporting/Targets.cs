using System.Globalization;
using MaaS.Benchmarks.Load;

namespace MaaS.Benchmarks.Reporting;

/// <summary>What the scenarios measured that issue 3's targets are judged on; null = not measured.</summary>
public sealed class Measured
{
    /// <summary>Scenario a, by concurrency.</summary>
    public Dictionary<int, Stats> Direct { get; } = [];

    /// <summary>Scenario a: the replica's CPU µs per call, by concurrency.</summary>
    public Dictionary<int, double> DirectReplicaCpu { get; } = [];

    /// <summary>Scenario b, by concurrency.</summary>
    public Dictionary<int, Stats> ThroughGateway { get; } = [];

    /// <summary>Scenario b: the gateway's CPU µs per call, by concurrency.</summary>
    public Dictionary<int, double> GatewayCpu { get; } = [];

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

    /// <summary>Scenario g: the v2 share in percent and the calls that failed or named a wrong version.</summary>
    public (double V2Share, int Bad)? Split { get; set; }

    /// <summary>Scenario h, by concurrency: p50 without and with the shadow, and the errors of both.</summary>
    public Dictionary<int, (double Without, double With, int Errors)> ShadowP50 { get; } = [];

    /// <summary>Scenario h at a fixed arrival rate: p50 without and with the shadow, and the errors of both.</summary>
    public (double Without, double With, int Errors)? ShadowOpenLoop { get; set; }

    /// <summary>Scenario i: failed calls from the kill to the first detection, and after it (null = no detection seen).</summary>
    public (int BeforeDetection, int? AfterDetection)? Kill { get; set; }

    /// <summary>Why a scenario could not give its numbers, by letter.</summary>
    public Dictionary<string, string> NotRun { get; } = [];
}

/// <summary>The "Targets" table: each target of issue 3, the measured value, met or missed by how much.</summary>
public static class Targets
{
    /// <summary>Writes the table.</summary>
    public static void Write(MarkdownReport report, Measured m)
    {
        report.Section("Targets", "Issue 3's targets (inference replica), then issue 6's (gateway), judged on the numbers above (one run, client and services on the same cores).");
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

        GatewayRows(report, m);
    }

    /// <summary>Issue 6's targets for the gateway (scenarios a, b, g, h, i), as rows of the same table.</summary>
    private static void GatewayRows(MarkdownReport report, Measured m)
    {

        if (m.Direct.TryGetValue(16, out var d16) && m.ThroughGateway.TryGetValue(16, out var g16) && d16.Throughput > 0)
        {
            var ratio = g16.Throughput / d16.Throughput;
            report.Row("through the gateway ≥ 0.5 × direct throughput at concurrency 16",
                $"{MarkdownReport.Rate(g16.Throughput)} vs {MarkdownReport.Rate(d16.Throughput)} req/s = {MarkdownReport.X(ratio)}",
                Verdict(ratio >= 0.5, $"{MarkdownReport.Pct((0.5 - ratio) / 0.5)} short of 0.5×"));
        }
        else
        {
            report.Row("through the gateway ≥ 0.5 × direct throughput at concurrency 16", "–", NotMeasured(m, "a", "b"));
        }

        if (m.Direct.TryGetValue(4, out var d4) && m.ThroughGateway.TryGetValue(4, out var g4))
        {
            var added = g4.P50 - d4.P50;
            report.Row("≤ 0.3 ms added p50 at concurrency 4",
                $"{MarkdownReport.Ms(g4.P50)} − {MarkdownReport.Ms(d4.P50)} ms = {MarkdownReport.Ms(added)} ms",
                Verdict(added <= 0.3, $"{MarkdownReport.Ms(added - 0.3)} ms over"));
        }
        else
        {
            report.Row("≤ 0.3 ms added p50 at concurrency 4", "–", NotMeasured(m, "a", "b"));
        }

        if (m.Split is { } split && !double.IsNaN(split.V2Share))
        {
            var off = Math.Abs(split.V2Share - 10);
            report.Row("a 90/10 split over 10,000 requests lands within ±1.5 points",
                $"v2 {split.V2Share.ToString("0.00", CultureInfo.InvariantCulture)} % ({off.ToString("0.00", CultureInfo.InvariantCulture)} points off), {split.Bad} failed or wrong",
                Verdict(off <= 1.5 && split.Bad == 0, split.Bad > 0 ? $"{split.Bad} calls failed or answered from the wrong version" : $"{(off - 1.5).ToString("0.00", CultureInfo.InvariantCulture)} points outside"));
        }
        else
        {
            report.Row("a 90/10 split over 10,000 requests lands within ±1.5 points", "–", NotMeasured(m, "g"));
        }

        if (m.Kill is { } kill)
        {
            report.Row("a replica killed under load: zero failed requests once the first detection has happened",
                kill.AfterDetection is { } after ? after.ToString(CultureInfo.InvariantCulture) : "no detection logged",
                kill.AfterDetection is { } a ? Verdict(a == 0, $"{a} failed after the detection") : "missed: the gateway never logged the replica out");
            // A handful: at concurrency 16 over two replicas, about 8 calls can be in flight on the killed one.
            report.Row("… and at most a handful before it (≤ 8: the calls in flight on the killed replica at concurrency 16)",
                kill.BeforeDetection.ToString(CultureInfo.InvariantCulture),
                Verdict(kill.BeforeDetection <= 8, $"{kill.BeforeDetection} failed before the detection"));
        }
        else
        {
            report.Row("a replica killed under load: zero failed requests after the first detection, a handful before", "–", NotMeasured(m, "i"));
        }

        if (m.ShadowP50.TryGetValue(4, out var shadow) && shadow.Without > 0)
        {
            var ratio = shadow.With / shadow.Without;
            report.Row("a shadow at 100 % adds ≤ 10 % to the caller's p50 (concurrency 4)",
                $"{MarkdownReport.Ms(shadow.With)} vs {MarkdownReport.Ms(shadow.Without)} ms = {Signed(ratio - 1)}",
                Verdict(ratio <= 1.10 && shadow.Errors == 0, shadow.Errors > 0 ? $"{shadow.Errors} calls failed" : Signed(ratio - 1)));
        }
        else
        {
            report.Row("a shadow at 100 % adds ≤ 10 % to the caller's p50", "–", NotMeasured(m, "h"));
        }
        if (m.ShadowOpenLoop is { } open && open.Without > 0)
        {
            var ratio = open.With / open.Without;
            report.Row("a shadow at 100 % adds ≤ 10 % to the caller's p50 (fixed rate of 2,000 calls/s)",
                $"{MarkdownReport.Ms(open.With)} vs {MarkdownReport.Ms(open.Without)} ms = {Signed(ratio - 1)}",
                Verdict(ratio <= 1.10 && open.Errors == 0, open.Errors > 0 ? $"{open.Errors} calls failed" : Signed(ratio - 1)));
        }
    }

    private static string Signed(double fraction) => (fraction >= 0 ? "+" : "") + MarkdownReport.Pct(fraction);

    private static string Verdict(bool met, string miss) => met ? "met" : "missed: " + miss;

    private static string NotMeasured(Measured m, params string[] scenarios)
    {
        var why = scenarios.Where(m.NotRun.ContainsKey).Select(s => $"{s}: {m.NotRun[s]}").ToList();
        return why.Count > 0 ? "not measured (" + string.Join("; ", why) + ")" : "not measured (scenario " + string.Join(", ", scenarios) + " not selected)";
    }
}
