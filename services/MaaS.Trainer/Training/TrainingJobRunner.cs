using System.Globalization;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.Jobs;
using MaaS.Onnx.Export;
using MaaS.Trainer.V1;

namespace MaaS.Trainer.Training;

/// <summary>
/// Runs one queued job to its end: download the dataset (and the warm-start model), train, export
/// and verify, register the version, and record every state change with its event. Whatever goes
/// wrong ends as a Failed job with a sentence; nothing escapes to the worker.
/// </summary>
public sealed partial class TrainingJobRunner(
    JobStore store,
    JobEvents events,
    RegistryGateway registry,
    ModelTrainer trainer,
    ILogger<TrainingJobRunner> logger)
{
    /// <summary>Runs the job; returns when it has succeeded or failed.</summary>
    public async Task RunAsync(string jobId, CancellationToken stopping)
    {
        var running = store.Update(jobId, j =>
        {
            j.State = JobState.Running;
            j.Message = "Downloading the dataset.";
        });
        if (running is null) return;
        events.StateChanged(running);
        var spec = running.Spec;
        LogRunning(logger, jobId, spec.ModelName);

        try
        {
            var dataset = await registry.DownloadDatasetAsync(spec.DatasetName, spec.DatasetVersion, stopping);
            var table = Parse(dataset);

            NetworkWeights? warmStart = null;
            if (spec.WarmStartVersion > 0)
            {
                Note(jobId, $"Reading version {spec.WarmStartVersion} to start from.");
                warmStart = ReadWarmStart(await registry.DownloadArtifactAsync(spec.ModelName, spec.WarmStartVersion, stopping), spec);
            }

            Note(jobId, "Training.");
            var trained = await Task.Run(() => trainer.Train(table, spec, warmStart, p => store.Update(jobId, j =>
            {
                j.EpochsDone = p.Epoch;
                j.Message = p.ValidationLoss is { } val
                    ? string.Create(CultureInfo.InvariantCulture, $"Epoch {p.Epoch}/{spec.Epochs}, loss {p.TrainLoss:G6}, validation loss {val:G6}.")
                    : string.Create(CultureInfo.InvariantCulture, $"Epoch {p.Epoch}/{spec.Epochs}, loss {p.TrainLoss:G6}.");
            }), stopping), stopping);

            Note(jobId, "Registering the version.");
            var digest = RegistryGateway.Sha256Hex(trained.Onnx);
            var version = await registry.RegisterAsync(Manifest(jobId, spec, dataset.Info, trained, digest), spec.Task, trained.Onnx, stopping);

            var done = store.Update(jobId, j =>
            {
                j.State = JobState.Succeeded;
                j.RegisteredVersion = version.Version;
                j.Metrics.Add(new Dictionary<string, double>(trained.Metrics));
                j.EpochsDone = trained.EpochsRun;
                j.Message = $"Registered {spec.ModelName} version {version.Version}.";
                j.FinishedAt = Timestamp.FromDateTime(DateTime.UtcNow);
            });
            if (done is null) return;
            LogSucceeded(logger, jobId, spec.ModelName, version.Version, trained.Metrics["train_loss"]);
            events.StateChanged(done);
            events.ModelTrained(done, digest);
        }
        catch (TrainingFailedException ex)
        {
            Fail(jobId, ex.Message);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            Fail(jobId, "The trainer stopped before the job finished.");
        }
        catch (Exception ex)
        {
            LogUnexpected(logger, ex, jobId);
            Fail(jobId, $"Unexpected error ({ex.GetType().Name}): {ex.Message}");
        }
    }

    private static NumericTable Parse(DownloadedDataset dataset)
    {
        try
        {
            return NumericTable.Parse(Encoding.UTF8.GetString(dataset.Content));
        }
        catch (FormatException ex)
        {
            throw new TrainingFailedException($"Dataset '{dataset.Info.Name}' version {dataset.Info.Version} cannot be read: {ex.Message}");
        }
    }

    private static NetworkWeights ReadWarmStart(byte[] artifact, TrainingSpec spec)
    {
        try
        {
            return NetworkWeights.From(DenseNetworkReader.Read(artifact));
        }
        catch (InvalidDataException ex)
        {
            throw new TrainingFailedException($"Version {spec.WarmStartVersion} of '{spec.ModelName}' cannot be a warm start: {ex.Message}");
        }
    }

    private static VersionManifest Manifest(string jobId, TrainingSpec spec, DatasetVersion dataset, TrainedModel trained, string digest)
    {
        return new VersionManifest
        {
            ModelName = spec.ModelName,
            ArtifactDigest = digest,
            Inputs = { VersionDescription.Inputs(trained) },
            Outputs = { VersionDescription.Outputs(trained) },
            Metrics = { new Dictionary<string, double>(trained.Metrics) },
            Hyperparameters = { VersionDescription.Hyperparameters(spec, trained) },
            Lineage = new Lineage
            {
                DatasetName = dataset.Name,
                DatasetVersion = dataset.Version,
                DatasetDigest = dataset.Digest,
                TrainingJobId = jobId,
                ParentVersion = spec.WarmStartVersion,
            },
            CreatedBy = "trainer",
        };
    }

    private void Note(string jobId, string message) => store.Update(jobId, j => j.Message = message);

    private void Fail(string jobId, string reason)
    {
        var failed = store.Update(jobId, j =>
        {
            j.State = JobState.Failed;
            j.Message = reason;
            j.FinishedAt = Timestamp.FromDateTime(DateTime.UtcNow);
        });
        if (failed is null) return;
        LogFailed(logger, jobId, reason);
        events.StateChanged(failed);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} running for model {Model}")]
    private static partial void LogRunning(ILogger logger, string jobId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} registered {Model} version {Version} (train_loss {TrainLoss})")]
    private static partial void LogSucceeded(ILogger logger, string jobId, string model, long version, double trainLoss);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} hit an unexpected error")]
    private static partial void LogUnexpected(ILogger logger, Exception ex, string jobId);
}
