using System.Globalization;
using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Data;
using MaaS.Updater.Cleaning;
using MaaS.Updater.Registry;
using MaaS.Updater.Retraining;
using MaaS.Updater.Storage;
using MaaS.Updater.Triggers;
using MaaS.Updater.V1;

namespace MaaS.Updater.Ingestion;

/// <summary>
/// One batch of rows for a model, from IngestRows or UploadRows: checked against the production
/// version's columns, cleaned row by row, stored as a dataset version, recorded (timeline and
/// DataIngested), and then the data rules (rows, feedback) are looked at.
/// </summary>
/// <remarks>
/// Rows without the label column are inputs, not training data: they are cleaned and stored as a
/// version of the dataset "{model}-unlabelled" for the record, but they never count toward the row rule,
/// never enter a retraining and cannot be feedback.
/// </remarks>
public sealed partial class Ingestor(UpdaterStore store, IRegistryGateway registry, TriggerEvaluator triggers, ILogger<Ingestor> logger)
{
    /// <summary>Ingests rows whose values follow <paramref name="columns"/>.</summary>
    public async Task<IngestReport> IngestAsync(string model, IReadOnlyList<string> columns, IReadOnlyList<IngestRow> rows, bool feedback, CancellationToken ct)
    {
        var champion = await registry.GetChampionAsync(model, ct);
        var known = ChampionColumns.From(champion)
            ?? throw MeshErrors.FailedPrecondition($"Production version {champion.Version} of '{model}' records no feature/label columns; it cannot be retrained from rows.");
        var (order, labelled) = ColumnOrder(columns, known);
        if (feedback && !labelled)
        {
            throw MeshErrors.InvalidArgument($"feedback rows must carry the label column '{known.Label}' (feedback is labelled by definition).");
        }
        var canonical = labelled ? known.All : known.Features;
        var policy = store.GetPolicy(model);
        var stored = labelled ? store.StoredRowKeys(model) : [];
        var cleaned = RowCleaner.Clean(order, columns, rows, policy.ColumnRanges, stored.Contains);

        var report = new IngestReport { RowsIn = rows.Count, RowsKept = cleaned.Kept.Count };
        foreach (var (reason, count) in cleaned.Dropped) report.RowsDropped[reason] = count;
        report.Issues.AddRange(cleaned.Issues);

        DatasetVersion? dataset = null;
        if (cleaned.Kept.Count > 0)
        {
            dataset = await registry.UploadCsvAsync(labelled ? $"{model}-ingested" : $"{model}-unlabelled",
                new NumericTable(canonical, cleaned.Kept).ToCsv(), $"cleaned {(feedback ? "feedback " : "")}rows for {model}", ct);
            report.DatasetName = dataset.Name;
            report.DatasetVersion = dataset.Version;
        }
        var correlation = $"batch-{Guid.NewGuid():N}";
        var ingested = dataset is null ? null : new DataIngested
        {
            CorrelationId = correlation,
            ModelName = model,
            DatasetName = dataset.Name,
            DatasetVersion = dataset.Version,
            RowsIn = report.RowsIn,
            RowsKept = report.RowsKept,
        };
        var keyed = labelled ? cleaned.Kept.Select(v => (RowCleaner.Key(v), v)).ToList() : [];
        // From storing the batch to evaluating it, the trigger loop waits: the report then tells what this batch started.
        using var turn = await triggers.TakeTurnAsync(model, ct);
        report.RowsSinceTraining = store.RecordBatch(model, keyed, dataset?.Version ?? 0, ingested,
            Note(report, labelled, feedback, known.Label, correlation), feedback);
        LogIngested(logger, model, report.RowsIn, report.RowsKept, report.RowsSinceTraining, labelled, feedback);
        Telemetry.UpdaterMetrics.Ingested(model, report);

        if (!labelled)
        {
            report.TriggerReason = $"rows without the label column '{known.Label}' are not training data; no rule counts them";
            return report;
        }
        try
        {
            var outcome = await triggers.EvaluateAsync(model, all: false, ct);
            report.RetrainTriggered = outcome.JobId is not null;
            report.TriggerReason = outcome.JobId is null ? outcome.Reason : $"{outcome.Reason} (job {outcome.JobId})";
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            // The batch is stored either way; the rules are looked at again on the next tick.
            report.TriggerReason = $"the rules could not be evaluated or the retraining could not start: {(ex is RpcException rpc ? rpc.Status.Detail : ex.Message)}";
            LogTriggerFailed(logger, ex, model);
        }
        return report;
    }

    /// <summary>Where each given column goes in the champion's order; features exactly once, the label at most once, nothing else.</summary>
    public static (int[] Order, bool Labelled) ColumnOrder(IReadOnlyList<string> given, ChampionColumns champion)
    {
        var labelled = given.Contains(champion.Label);
        var expected = labelled ? champion.All : champion.Features;
        var order = given.Select(c => expected.ToList().IndexOf(c)).ToArray();
        if (given.Count != expected.Count || order.Any(i => i < 0) || order.Distinct().Count() != order.Length)
        {
            throw MeshErrors.InvalidArgument(
                $"columns must be the production version's features [{string.Join(", ", champion.Features)}], with or without the label '{champion.Label}', each once, in any order; got [{string.Join(", ", given)}].");
        }
        return (order, labelled);
    }

    private static BatchNote Note(IngestReport report, bool labelled, bool feedback, string label, string correlation)
    {
        var dropped = report.RowsDropped.Where(d => d.Value > 0).Select(d => $"{d.Value} {d.Key}").ToList();
        var kind = feedback ? "feedback batch" : labelled ? "batch" : "batch without labels";
        var summary = $"A {kind} of {report.RowsIn} rows: kept {report.RowsKept}"
            + (dropped.Count > 0 ? $", dropped {string.Join(", ", dropped)}" : "")
            + (report.DatasetName.Length > 0 ? $"; stored as {report.DatasetName}:{report.DatasetVersion}" : "")
            + (labelled ? "" : $"; without the label '{label}' they are not training data");
        var details = new Dictionary<string, string>
        {
            ["rows_in"] = Show(report.RowsIn),
            ["rows_kept"] = Show(report.RowsKept),
            ["labelled"] = labelled ? "true" : "false",
            ["feedback"] = feedback ? "true" : "false",
        };
        foreach (var (reason, count) in report.RowsDropped) details["dropped_" + reason] = Show(count);
        if (report.DatasetName.Length > 0) details["dataset"] = $"{report.DatasetName}:{report.DatasetVersion}";
        return new BatchNote(summary, details, correlation);
    }

    private static string Show(long value) => value.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rules of {Model} could not be evaluated after a batch")]
    private static partial void LogTriggerFailed(ILogger logger, Exception ex, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingested {RowsIn} rows for {Model}: kept {RowsKept}, {Pending} waiting for training (labelled {Labelled}, feedback {Feedback})")]
    private static partial void LogIngested(ILogger logger, string model, long rowsIn, long rowsKept, long pending, bool labelled, bool feedback);
}
