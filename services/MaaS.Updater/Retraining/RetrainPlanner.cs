using System.Globalization;
using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Data;
using MaaS.Updater.Registry;
using MaaS.Updater.Storage;
using MaaS.Updater.V1;

namespace MaaS.Updater.Retraining;

/// <summary>The rules that start a retraining.</summary>
public static class TriggerRules
{
    /// <summary>Rule names, as RetrainTriggered.Rule and the timeline say them.</summary>
    public const string Rows = "rows", Schedule = "schedule", Drift = "drift", Feedback = "feedback", Manual = "manual";
}

/// <summary>A rule that fired: which, why in a sentence, and the numbers behind it.</summary>
/// <param name="Rule">Rule name (<see cref="TriggerRules"/>).</param>
/// <param name="Reason">One sentence with the numbers.</param>
/// <param name="Details">The numbers (name → value as text).</param>
/// <param name="MinRows">Rows that must be waiting for the retraining to start (the row rule's threshold; 0 for the others).</param>
public sealed record TriggerFiring(string Rule, string Reason, IReadOnlyDictionary<string, string> Details, long MinRows = 0);

/// <summary>What a retraining trains on and what the gate scores on.</summary>
/// <param name="Training">Rows the challenger trains on (features then label), oldest first.</param>
/// <param name="Holdout">Rows held out for the gate.</param>
/// <param name="HoldoutFrom">new_rows, or all_rows when fewer than two new rows arrived.</param>
public sealed record RetrainPlan(List<double[]> Training, List<double[]> Holdout, string HoldoutFrom);

/// <summary>
/// Starts a retraining when a rule fires: sets the new rows aside (the debounce: one retraining per
/// model), holds out part of them for the gate, stores the champion's training rows plus the rest (or the
/// newest window of them) as a training dataset, and sends TrainModel with the champion's spec,
/// warm-started from the champion.
/// </summary>
public sealed partial class RetrainPlanner(UpdaterStore store, IRegistryGateway registry, ILogger<RetrainPlanner> logger)
{
    /// <summary>Launches a retraining; returns its job id (also the update's correlation id), or null when one is in flight or too few rows wait.</summary>
    public async Task<string?> LaunchAsync(string model, ModelVersion champion, ChampionColumns columns, Policy policy, TriggerFiring firing, CancellationToken ct)
    {
        var jobId = $"retrain-{Guid.NewGuid():N}";
        var newRows = store.TryReserveRows(model, firing.MinRows, jobId, champion.Version, columns.All, firing.Rule, jobId);
        if (newRows is null) return null;
        try
        {
            var (championRows, championNote) = await ChampionRowsAsync(champion, columns, ct);
            var plan = Plan(championRows, newRows, policy.HoldoutFraction, policy.TrainingWindowRows);
            var dataset = await registry.UploadCsvAsync(
                $"{model}-retrain", new NumericTable(columns.All, plan.Training).ToCsv(), $"retraining {jobId}: the champion's rows and the new rows minus the held-out share", ct);
            var command = BuildCommand(model, champion, columns, dataset, jobId);
            var details = new Dictionary<string, string>(firing.Details)
            {
                ["new_rows"] = Show(newRows.Count),
                ["champion_rows"] = Show(championRows.Count),
                ["champion_data"] = championNote,
                ["training_rows"] = Show(plan.Training.Count),
                ["holdout_rows"] = Show(plan.Holdout.Count),
                ["holdout_from"] = plan.HoldoutFrom,
                ["training_window_rows"] = Show(policy.TrainingWindowRows),
                ["dataset"] = $"{dataset.Name}:{dataset.Version}",
            };
            store.MarkLaunched(jobId, plan.Holdout, command, new RetrainTriggered
            {
                CorrelationId = jobId,
                ModelName = model,
                Reason = firing.Reason,
                JobId = jobId,
                ChampionVersion = champion.Version,
                Rule = firing.Rule,
                Details = details,
            });
            LogLaunched(logger, model, jobId, firing.Rule, champion.Version, plan.Training.Count, plan.Holdout.Count);
            return jobId;
        }
        catch (Exception ex)
        {
            // Whatever stopped it, the rows must count again and the debounce must not wait forever.
            store.FailRetrain(jobId, $"could not start: {ex.Message}");
            LogLaunchFailed(logger, ex, model, jobId);
            throw;
        }
    }

    /// <summary>
    /// Holdout from the new rows (so the gate judges on the data the update is about); when fewer than two
    /// new rows exist (a manual, schedule or drift trigger), from all rows. Training: the champion's rows,
    /// then the new ones, cut to the newest <paramref name="window"/> rows when it is > 0.
    /// </summary>
    public static RetrainPlan Plan(IReadOnlyList<double[]> championRows, IReadOnlyList<double[]> newRows, double holdoutFraction, long window)
    {
        List<double[]> training, holdout;
        string from;
        if (newRows.Count >= 2)
        {
            var (trainNew, held) = Split(newRows, holdoutFraction, seed: newRows.Count);
            training = [.. championRows, .. trainNew];
            holdout = held;
            from = "new_rows";
        }
        else
        {
            var all = championRows.Concat(newRows).ToList();
            if (all.Count < 2)
            {
                throw MeshErrors.FailedPrecondition($"There are {all.Count} rows to train on (champion's and new); at least two are needed to train and hold out.");
            }
            (training, holdout) = Split(all, holdoutFraction, seed: all.Count);
            from = "all_rows";
        }
        if (window > 0 && training.Count > window) training = training.GetRange(training.Count - (int)window, (int)window);
        return new RetrainPlan(training, holdout, from);
    }

    private async Task<(List<double[]> Rows, string Note)> ChampionRowsAsync(ModelVersion champion, ChampionColumns columns, CancellationToken ct)
    {
        var lineage = champion.Lineage;
        if (lineage is null || lineage.DatasetName.Length == 0) return ([], "the champion records no training dataset");
        try
        {
            var (dataset, content) = await registry.DownloadDatasetAsync(lineage.DatasetName, lineage.DatasetVersion, ct);
            var table = await DatasetFormats.ReadAsync(content, dataset.Format, ct);
            var indexes = columns.All.Select(table.IndexOf).ToArray();
            if (indexes.Any(i => i < 0))
            {
                return ([], $"{lineage.DatasetName}:{lineage.DatasetVersion} lacks some of the columns [{string.Join(", ", columns.All)}]");
            }
            var rows = table.Rows.Select(r => indexes.Select(i => r[i]).ToArray()).Where(r => r.All(double.IsFinite)).ToList();
            return (rows, $"{lineage.DatasetName}:{lineage.DatasetVersion}");
        }
        catch (Exception ex) when (ex is RpcException or FormatException)
        {
            // The new rows still make a retraining; the timeline says the champion's rows were left out.
            return ([], $"{lineage.DatasetName}:{lineage.DatasetVersion} unavailable ({ex.Message})");
        }
    }

    private static string Show(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A deterministic shuffle, then the first share held out (at least one row on each side).</summary>
    public static (List<double[]> Train, List<double[]> Holdout) Split(IReadOnlyList<double[]> rows, double holdoutFraction, int seed)
    {
        if (rows.Count < 2) throw new ArgumentException("At least two rows are needed to train and hold out.", nameof(rows));
        var shuffled = rows.ToArray();
        new Random(seed).Shuffle(shuffled);
        var holdoutCount = Math.Clamp((int)Math.Round(rows.Count * holdoutFraction), 1, rows.Count - 1);
        return (shuffled[holdoutCount..].ToList(), shuffled[..holdoutCount].ToList());
    }

    /// <summary>The champion's spec, on the new training dataset, warm-started from the champion.</summary>
    public static TrainModel BuildCommand(string model, ModelVersion champion, ChampionColumns columns, DatasetVersion dataset, string jobId)
    {
        string Hyper(string key, string fallback) => champion.Hyperparameters.TryGetValue(key, out var v) && v.Length > 0 ? v : fallback;
        return new TrainModel
        {
            CorrelationId = jobId,
            JobId = jobId,
            ModelName = model,
            DatasetName = dataset.Name,
            DatasetVersion = dataset.Version,
            FeatureColumns = columns.Features,
            LabelColumn = columns.Label,
            Architecture = Hyper("architecture", "linear_regression"),
            Optimizer = Hyper("optimizer", "sgd"),
            Loss = Hyper("loss", "mse"),
            Epochs = int.Parse(Hyper("epochs", "1000"), CultureInfo.InvariantCulture),
            LearningRate = double.Parse(Hyper("learning_rate", "0.1"), CultureInfo.InvariantCulture),
            Seed = long.Parse(Hyper("seed", "42"), CultureInfo.InvariantCulture),
            WarmStartVersion = champion.Version,
            Task = Hyper("task", ""),
            HiddenSizes = Hyper("hidden_sizes", "").Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(h => int.Parse(h, CultureInfo.InvariantCulture)).ToList(),
            Activation = Hyper("activation", ""),
            Momentum = double.Parse(Hyper("momentum", "0"), CultureInfo.InvariantCulture),
            WeightDecay = double.Parse(Hyper("weight_decay", "0"), CultureInfo.InvariantCulture),
            BatchSize = int.Parse(Hyper("batch_size", "0"), CultureInfo.InvariantCulture),
            ValidationSplit = double.Parse(Hyper("validation_split", "0"), CultureInfo.InvariantCulture),
            Standardize = champion.Hyperparameters.TryGetValue("standardize", out var standardize) ? standardize == "true" : null,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retraining {Model} ({Rule} rule): job {JobId} warm-starts from version {Champion} on {TrainRows} rows, {HoldoutRows} held out")]
    private static partial void LogLaunched(ILogger logger, string model, string jobId, string rule, long champion, int trainRows, int holdoutRows);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retraining {Model} (job {JobId}) could not start")]
    private static partial void LogLaunchFailed(ILogger logger, Exception ex, string model, string jobId);
}

/// <summary>The champion's feature columns and label, the column order of every stored row.</summary>
public sealed record ChampionColumns(IReadOnlyList<string> Features, string Label)
{
    /// <summary>Features then label.</summary>
    public IReadOnlyList<string> All => [.. Features, Label];

    /// <summary>Read from the version's hyper-parameters (written by the trainer).</summary>
    public static ChampionColumns? From(ModelVersion version)
    {
        if (!version.Hyperparameters.TryGetValue("label_column", out var label) || label.Length == 0) return null;
        if (!version.Hyperparameters.TryGetValue("feature_columns", out var features) || features.Length == 0) return null;
        return new ChampionColumns(features.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), label);
    }
}
