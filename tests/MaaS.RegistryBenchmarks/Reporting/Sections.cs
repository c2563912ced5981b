using System.Globalization;
using MaaS.RegistryBenchmarks.Scenarios;

namespace MaaS.RegistryBenchmarks.Reporting;

/// <summary>The report's sections: each store's numbers side by side, the outage, and issue 4's targets.</summary>
public static class Sections
{
    /// <summary>The p99 every list/search query must stay under on SQLite.</summary>
    public const double QueryP99TargetMs = 50;

    private static readonly Dictionary<string, string> StoreNames = new() { ["sqlite"] = "SQLite", ["postgres"] = "PostgreSQL" };

    /// <summary>Writes every section for what was measured.</summary>
    public static void Write(Report report, BenchOptions o, IReadOnlyList<StoreResults> stores, OutageResults? outage, string? outageFailure)
    {
        if (o.Scenarios.Contains("populate")) Populate(report, o, stores);
        if (o.Scenarios.Contains("upload")) Upload(report, o, stores);
        if (o.Scenarios.Contains("query")) Queries(report, o, stores);
        if (o.Scenarios.Contains("outage")) Outage(report, o, outage, outageFailure);
        foreach (var s in stores)
        {
            foreach (var (scenario, why) in s.Failed) report.Note($"**{Name(s.Store)}, {scenario} stopped:** {why}");
        }
        Targets(report, o, stores, outage);
    }

    private static string Name(string store) => StoreNames.GetValueOrDefault(store, store);

    private static void Populate(Report report, BenchOptions o, IReadOnlyList<StoreResults> stores)
    {
        report.Section("Register-version throughput",
            $"{Report.Num(o.Models)} models, then {Report.Num(o.VersionsPerModel)} versions each ({Report.Num(o.Models * o.VersionsPerModel)} versions), " +
            $"{o.Writers} concurrent RegisterVersion streams, artifacts of {Report.Num(o.ArtifactBytes)} bytes with unique content (manifest, then the bytes; " +
            "the registry hashes, stores the blob, and commits the version row with its outbox event in one transaction).");
        report.TableHeader("store", "versions", "seconds", "versions/s", "call p50 (ms)", "call p99 (ms)", "call max (ms)");
        foreach (var s in stores.Where(s => s.Versions > 0))
        {
            report.Row(Name(s.Store), Report.Num(s.Versions), Report.Num(s.PopulateSeconds, 1), Report.Num(s.VersionsPerSecond),
                Latencies.Ms(s.Register.P50), Latencies.Ms(s.Register.P99), Latencies.Ms(s.Register.Max));
        }
    }

    private static void Upload(Report report, BenchOptions o, IReadOnlyList<StoreResults> stores)
    {
        report.Section("Artifact upload",
            $"{o.Uploads} artifacts of {o.UploadMiB} MiB registered one after the other as versions of one model, streamed in 64 KiB chunks " +
            "(one unmeasured upload first). MB/s = 10⁶ bytes per second of call time; the registry hashes while it writes, syncs the file, renames it into place.");
        report.TableHeader("store", "artifacts", "MiB each", "MB/s", "call p50 (ms)", "call max (ms)");
        foreach (var s in stores)
        {
            if (s.Upload is not { } u) continue;
            report.Row(Name(s.Store), u.Calls.Count.ToString(CultureInfo.InvariantCulture), o.UploadMiB.ToString(CultureInfo.InvariantCulture),
                Report.Num(s.UploadMBps, 1), Latencies.Ms(u.Calls.P50), Latencies.Ms(u.Calls.Max));
        }
    }

    private static void Queries(Report report, BenchOptions o, IReadOnlyList<StoreResults> stores)
    {
        report.Section("List and search latency",
            $"On the populated registry ({Report.Num(o.Models)} models, {Report.Num(o.Models * o.VersionsPerModel)} versions): " +
            $"each query kind {Report.Num(o.WarmupCalls)} unmeasured calls, then {Report.Num(o.Calls)} measured, one caller; arguments drawn with a fixed seed.");
        var measured = stores.Where(s => s.Queries.Count > 0).ToList();
        var columns = new List<string> { "query", "what it asks" };
        foreach (var s in measured)
        {
            columns.Add($"{Name(s.Store)} p50 (ms)");
            columns.Add($"{Name(s.Store)} p99 (ms)");
        }
        report.TableHeader([.. columns]);
        var kinds = measured.SelectMany(s => s.Queries.Select(q => (q.Kind, q.Description, q.Target))).Distinct().ToList();
        foreach (var (kind, description, target) in kinds)
        {
            var cells = new List<string> { target ? kind : kind + " ¹", description };
            foreach (var s in measured)
            {
                var q = s.Queries.FirstOrDefault(q => q.Kind == kind);
                cells.Add(q.Calls is null ? "–" : Latencies.Ms(q.Calls.P50));
                cells.Add(q.Calls is null ? "–" : Latencies.Ms(q.Calls.P99));
            }
            report.Row([.. cells]);
        }
        report.Note("¹ A single get, not a list or search: shown for comparison, outside the p99 target.");
    }

    private static void Outage(Report report, BenchOptions o, OutageResults? r, string? failure)
    {
        report.Section("Events across a broker outage",
            $"A private RabbitMQ (`infra/rabbitmq.sh`), a registry on SQLite publishing through its outbox, and a consumer in the benchmark " +
            $"process (MassTransit receive endpoint bound to ModelVersionRegistered, one message at a time). Versions are registered one after " +
            $"the other every ~50 ms: 5 s with the broker up, {o.OutageSeconds} s with it stopped (`rabbitmq.sh stop`), 5 s after `rabbitmq.sh start`. " +
            "Then the consumer must hold every version's event, once per event id, in registration order.");
        if (r is null)
        {
            report.Note($"**Not measured:** {failure ?? "the scenario did not run"}");
            return;
        }
        report.TableHeader("registered (before / during / after)", "broker down (s)", "deliveries", "distinct event ids", "duplicates", "missing", "out of order", "catch-up after return (s)");
        report.Row($"{r.Before} / {r.During} / {r.After}", Report.Num(r.DownSeconds, 1), Report.Num(r.Deliveries), Report.Num(r.DistinctEvents),
            Report.Num(r.Duplicates), Report.Num(r.Missing), Report.Num(r.OutOfOrder), Report.Num(r.CatchUpSeconds, 1));
        report.Note($"The registry's dispatcher logged {r.BackoffLogLines} failed publish attempts (kept and retried with back-off) while the broker was away. " +
            "Catch-up is mostly that back-off: the wait between attempts doubles up to 30 s while the broker is away, so the first attempt after its return can come up to 30 s later; then the backlog drains in order.");
    }

    private static void Targets(Report report, BenchOptions o, IReadOnlyList<StoreResults> stores, OutageResults? outage)
    {
        report.Section("Targets (issue 4)", "Measured on this run.");
        report.TableHeader("target", "measured", "met");
        var sqlite = stores.FirstOrDefault(s => s.Store == "sqlite");
        var measured = sqlite?.Queries.Where(q => q.Target && q.Calls.Count > 0).ToList() ?? [];
        var worst = measured.Count > 0 ? measured.MaxBy(q => q.Calls.P99) : default;
        report.Row($"{Report.Num(o.Models * o.VersionsPerModel)} versions across {Report.Num(o.Models)} models: list/search p99 ≤ {QueryP99TargetMs:0} ms on SQLite",
            measured.Count > 0 ? $"worst p99 {Latencies.Ms(worst.Calls.P99)} ms ({worst.Kind})" : "not measured",
            measured.Count > 0 ? (worst.Calls.P99 <= QueryP99TargetMs ? "yes" : "no") : "–");
        report.Row("register-version throughput reported",
            string.Join("; ", stores.Where(s => s.Versions > 0).Select(s => $"{Name(s.Store)} {Report.Num(s.VersionsPerSecond)} versions/s")) is { Length: > 0 } t ? t : "not measured",
            stores.Any(s => s.Versions > 0) ? "yes" : "–");
        report.Row("artifact upload MB/s reported",
            string.Join("; ", stores.Where(s => s.Upload is not null).Select(s => $"{Name(s.Store)} {Report.Num(s.UploadMBps, 1)} MB/s")) is { Length: > 0 } u ? u : "not measured",
            stores.Any(s => s.Upload is not null) ? "yes" : "–");
        var both = stores.Count(s => s.Versions > 0) >= 2;
        report.Row("both stores measured side by side", string.Join(", ", stores.Where(s => s.Versions > 0).Select(s => Name(s.Store))), both ? "yes" : "no");
        report.Row($"broker stopped {o.OutageSeconds} s while registering: every event arrives, in order, exactly once per event id",
            outage is null ? "not measured" : $"{outage.DistinctEvents}/{outage.Before + outage.During + outage.After} events, {outage.Duplicates} duplicates, {outage.OutOfOrder} out of order, {outage.Missing} missing",
            outage is null ? "–" : outage.Passed ? "yes" : "no");
    }
}
