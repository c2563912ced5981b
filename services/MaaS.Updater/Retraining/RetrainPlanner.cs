using System.Globalization;
using MaaS.Contracts;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Data;
using MaaS.Updater.Registry;
using MaaS.Updater.Storage;
using MaaS.Updater.V1;

namespace MaaS.Updater.Retraining;

/// <summary>
/// Starts a retraining when a model's new rows reach its threshold: holds out part of the new rows
/// for the gate, stores the rest as a training dataset, and sends TrainModel with the champion's
/// spec, warm-started from the champion.
/// </summary>
public sealed partial class RetrainPlanner(UpdaterStore store, RegistryGateway registry, ILogger<RetrainPlanner> logger)
{
    /// <summary>Launches a retraining if the policy says so; returns its job id, or null.</summary>
    public async Task<string?> MaybeLaunchAsync(string model, ModelVersion champion, ChampionColumns columns, Policy policy, CancellationToken ct)
    {
        var jobId = $"retrain-{Guid.NewGuid():N}";
        var rows = store.TryReserveRows(model, policy.RetrainAfterRows, jobId, champion.Version, columns.All);
        if (rows is null) return null;
        try
        {
            var (train, holdout) = Split(rows, policy.HoldoutFraction, seed: rows.Count);
            var dataset = await registry.UploadCsvAsync(
                $"{model}-retrain", new NumericTable(columns.All, train).ToCsv(), $"retraining {jobId}: new rows minus the held-out share", ct);
            var command = BuildCommand(model, champion, columns, dataset, jobId);
            var reason = $"new-row threshold: {rows.Count} kept rows since the last training >= {policy.RetrainAfterRows}";
            store.MarkLaunched(jobId, holdout, command, new RetrainTriggered
            {
                CorrelationId = jobId,
                ModelName = model,
                Reason = reason,
                JobId = jobId,
                ChampionVersion = champion.Version,
            });
            LogLaunched(logger, model, jobId, champion.Version, train.Count, holdout.Count);
            return jobId;
        }
        catch (Exception ex)
        {
            store.FailRetrain(jobId, $"could not start: {ex.Message}");
            LogLaunchFailed(logger, ex, model, jobId);
            throw;
        }
    }

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
            Standardize = champion.Hyperparameters.TryGetValue("standardize", out var standardize) ? standardize == "true" : null,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retraining {Model}: job {JobId} warm-starts from version {Champion} on {TrainRows} rows, {HoldoutRows} held out")]
    private static partial void LogLaunched(ILogger logger, string model, string jobId, long champion, int trainRows, int holdoutRows);

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
