using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.Jobs;
using MaaS.Onnx.Export;
using MaaS.Trainer.V1;

namespace MaaS.Trainer.Training;

/// <summary>
/// Runs one queued job to its end: download the dataset (and the warm-start model and checkpoint), train,
/// export and verify, register the version, keep the checkpoint, and record every state change with its
/// events. Whatever goes wrong ends as a Failed (or, on request, Cancelled) job with a sentence.
/// </summary>
public sealed partial class TrainingJobRunner(
    JobStore store,
    JobCancellations cancellations,
    RegistryGateway registry,
    ModelTrainer trainer,
    CheckpointStore checkpoints,
    TimeProvider clock,
    ILogger<TrainingJobRunner> logger)
{
    private static readonly TimeSpan ProgressEventInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Waits for a slot, then runs the job; returns when it has ended, or at once when it is not Queued
    /// (cancelled while it waited, or already run). When the trainer stops mid-job the job is left Running
    /// for the next start to mark interrupted.
    /// </summary>
    public async Task RunAsync(string jobId, CancellationToken stopping)
    {
        try
        {
            using var slot = await cancellations.TakeSlotAsync(stopping);
            using var cancel = cancellations.Begin(jobId, stopping);
            await RunInSlotAsync(jobId, cancel.Token, stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            LogStopped(logger, jobId);
        }
    }

    private async Task RunInSlotAsync(string jobId, CancellationToken ct, CancellationToken stopping)
    {
        var running = store.Update(jobId, j =>
        {
            j.State = JobState.Running;
            j.Message = "Downloading the dataset.";
            j.StartedAt = Timestamp.FromDateTimeOffset(clock.GetUtcNow());
        }, when: j => j.State == JobState.Queued, jobEvents: j => [JobEvents.StateChanged(j)]);
        if (running is null) return;
        var spec = running.Spec;
        LogRunning(logger, jobId, spec.ModelName);

        try
        {
            var dataset = await registry.DownloadDatasetAsync(spec.DatasetName, spec.DatasetVersion, ct);
            var table = await ReadAsync(dataset, ct);

            NetworkWeights? warmStart = null;
            byte[]? checkpoint = null;
            if (spec.WarmStartVersion > 0)
            {
                Note(jobId, $"Reading version {spec.WarmStartVersion} to start from.");
                warmStart = ReadWarmStart(await registry.DownloadArtifactAsync(spec.ModelName, spec.WarmStartVersion, ct), spec);
                // The checkpoint adds the optimizer state; a version trained on another replica has none here.
                checkpoint = checkpoints.Read(spec.ModelName, spec.WarmStartVersion);
            }

            Note(jobId, checkpoint is null ? "Training." : $"Training from the checkpoint of version {spec.WarmStartVersion}.");
            var throttle = new ProgressThrottle(ProgressEventInterval);
            var began = clock.GetTimestamp();
            var trained = await Task.Run(() => trainer.Train(table, spec, warmStart, p => Progress(jobId, spec, p, clock.GetElapsedTime(began), throttle), ct, checkpoint), ct);

            Note(jobId, "Registering the version.");
            var digest = RegistryGateway.Sha256Hex(trained.Onnx);
            var version = await registry.RegisterAsync(Manifest(jobId, spec, dataset.Info, trained, digest), spec.Task, trained.Onnx, ct);
            checkpoints.Write(spec.ModelName, version.Version, trained.Checkpoint);

            var done = store.Update(jobId, j =>
            {
                j.State = JobState.Succeeded;
                j.RegisteredVersion = version.Version;
                j.Metrics.Add(new Dictionary<string, double>(trained.Metrics));
                j.EpochsDone = trained.EpochsRun;
                j.Message = $"Registered {spec.ModelName} version {version.Version}.";
                j.FinishedAt = Timestamp.FromDateTimeOffset(clock.GetUtcNow());
            }, jobEvents: j => [JobEvents.StateChanged(j), JobEvents.ModelTrained(j, digest)]);
            if (done is null) return;
            LogSucceeded(logger, jobId, spec.ModelName, version.Version, trained.Metrics["train_loss"]);
        }
        catch (TrainingFailedException ex)
        {
            End(jobId, JobState.Failed, ex.Message);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ct.IsCancellationRequested && ex is OperationCanceledException or Grpc.Core.RpcException)
        {
            var epochs = store.Get(jobId)?.EpochsDone ?? 0;
            End(jobId, JobState.Cancelled, $"Cancelled on request after {epochs} epoch(s).");
        }
        catch (Exception ex)
        {
            LogUnexpected(logger, ex, jobId);
            End(jobId, JobState.Failed, $"Unexpected error ({ex.GetType().Name}): {ex.Message}");
        }
    }

    private void Progress(string jobId, TrainingSpec spec, EpochProgress p, TimeSpan elapsed, ProgressThrottle throttle)
    {
        var eta = p.Epoch >= spec.Epochs || p.Final ? TimeSpan.Zero : elapsed / p.Epoch * (spec.Epochs - p.Epoch);
        var progress = new JobProgress
        {
            Epoch = p.Epoch,
            Epochs = spec.Epochs,
            TrainLoss = p.TrainLoss,
            Metrics = { ["learning_rate"] = p.LearningRate },
            Elapsed = Duration.FromTimeSpan(elapsed),
            Eta = Duration.FromTimeSpan(eta),
        };
        if (p.ValidationLoss is { } val) progress.ValidationLoss = val;
        var publish = throttle.Take(clock.GetUtcNow(), p.Final);
        store.Update(jobId, j =>
        {
            j.EpochsDone = p.Epoch;
            j.Progress = progress;
            j.Message = p.ValidationLoss is { } v
                ? string.Create(CultureInfo.InvariantCulture, $"Epoch {p.Epoch}/{spec.Epochs}, loss {p.TrainLoss:G6}, validation loss {v:G6}.")
                : string.Create(CultureInfo.InvariantCulture, $"Epoch {p.Epoch}/{spec.Epochs}, loss {p.TrainLoss:G6}.");
        }, jobEvents: j => publish ? [JobEvents.Progressed(j)] : []);
    }

    // The registry records the format it parsed at upload; the same shared reader gives the same table here.
    private static async Task<NumericTable> ReadAsync(DownloadedDataset dataset, CancellationToken ct)
    {
        try
        {
            return await DatasetFormats.ReadAsync(dataset.Content, dataset.Info.Format, ct);
        }
        catch (FormatException ex)
        {
            throw new TrainingFailedException(
                $"Dataset '{dataset.Info.Name}' version {dataset.Info.Version} ({DatasetFormats.Label(dataset.Info.Format)}) cannot be read: {ex.Message}");
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

    private void End(string jobId, JobState state, string reason)
    {
        var ended = store.Update(jobId, j =>
        {
            j.State = state;
            j.Message = reason;
            j.FinishedAt = Timestamp.FromDateTimeOffset(clock.GetUtcNow());
        }, jobEvents: j => [JobEvents.StateChanged(j)]);
        if (ended is not null) LogEnded(logger, jobId, JobStates.EventName(state), reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} running for model {Model}")]
    private static partial void LogRunning(ILogger logger, string jobId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} registered {Model} version {Version} (train_loss {TrainLoss})")]
    private static partial void LogSucceeded(ILogger logger, string jobId, string model, long version, double trainLoss);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} {State}: {Reason}")]
    private static partial void LogEnded(ILogger logger, string jobId, string state, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} left Running: the trainer is stopping")]
    private static partial void LogStopped(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} hit an unexpected error")]
    private static partial void LogUnexpected(ILogger logger, Exception ex, string jobId);
}
