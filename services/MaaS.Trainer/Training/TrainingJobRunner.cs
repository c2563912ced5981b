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
    DatasetCache datasets,
    ModelTrainer trainer,
    CheckpointStore checkpoints,
    TimeProvider clock,
    ILogger<TrainingJobRunner> logger)
{
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
        catch (Exception ex) when (stopping.IsCancellationRequested && IsCancellation(ex))
        {
            LogStopped(logger, jobId);
        }
    }

    private static bool IsCancellation(Exception ex) => ex is OperationCanceledException or Grpc.Core.RpcException;

    private async Task RunInSlotAsync(string jobId, CancellationToken ct, CancellationToken stopping)
    {
        var running = store.Update(jobId, j =>
        {
            j.State = JobState.Running;
            j.Message = "Downloading the dataset.";
            j.StartedAt = Timestamp.FromDateTimeOffset(clock.GetUtcNow());
        }, when: j => j.State == JobState.Queued, jobEvents: j => [JobEvents.StateChanged(j)]);
        if (running is null) return;
        using var span = Telemetry.TrainerMetrics.StartJobSpan(running);
        var started = clock.GetTimestamp();
        var spec = running.Spec;
        LogRunning(logger, jobId, spec.ModelName);

        try
        {
            var (dataset, table) = await LoadDatasetAsync(spec, ct);
            var loaded = clock.GetElapsedTime(started);

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
            // The loop only queues its reports; the recorder stores them off the loop, and has stored the last one
            // before the job's next state change below.
            var recorder = new ProgressRecorder(store, jobId, spec, clock, logger);
            TrainedModel trained;
            try
            {
                var began = clock.GetTimestamp();
                // A thread of its own for the whole run (LongRunning), not a pool thread: jobs last minutes, and
                // with a few of them the pool had no thread left for the gRPC calls and watch streams that report them.
                trained = await Task.Factory.StartNew(
                    () => trainer.Train(table, spec, warmStart, p => recorder.Report(p, clock.GetElapsedTime(began)), ct, checkpoint),
                    ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
            finally
            {
                await recorder.CompleteAsync();
            }

            var trainedAt = clock.GetElapsedTime(started);
            Note(jobId, "Registering the version.");
            var digest = RegistryGateway.Sha256Hex(trained.Onnx);
            var version = await registry.RegisterAsync(Manifest(jobId, spec, dataset, trained, digest), spec.Task, trained.Onnx, ct);
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
            var total = clock.GetElapsedTime(started);
            LogSucceeded(logger, jobId, spec.ModelName, version.Version, trained.Metrics["train_loss"],
                (long)loaded.TotalMilliseconds, (long)(trainedAt - loaded).TotalMilliseconds, (long)(total - trainedAt).TotalMilliseconds);
        }
        catch (TrainingFailedException ex)
        {
            End(jobId, JobState.Failed, ex.Message);
        }
        catch (Exception ex) when (stopping.IsCancellationRequested && IsCancellation(ex))
        {
            // The trainer is stopping (a registry call cancelled by it ends as an RpcException): the job stays
            // Running and is marked interrupted at the next start, not Cancelled as if someone had asked.
            throw;
        }
        catch (Exception ex) when (ct.IsCancellationRequested && IsCancellation(ex))
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

    // A cached table of the same content skips the download and the parse; a miss costs one GetDataset more.
    private async Task<(DatasetVersion Info, NumericTable Table)> LoadDatasetAsync(TrainingSpec spec, CancellationToken ct)
    {
        if (datasets.Enabled)
        {
            var info = await registry.GetDatasetAsync(spec.DatasetName, spec.DatasetVersion, ct);
            if (datasets.Get(info) is { } cached) return (info, cached);
            var downloaded = await registry.DownloadDatasetAsync(info.Name, info.Version, ct);
            var parsed = await ReadAsync(downloaded, ct);
            datasets.Add(downloaded.Info, parsed);
            return (downloaded.Info, parsed);
        }
        var dataset = await registry.DownloadDatasetAsync(spec.DatasetName, spec.DatasetVersion, ct);
        return (dataset.Info, await ReadAsync(dataset, ct));
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

    // The stage times say where a job's time went: dataset (lookup, download, parse), training (with the export check), registration.
    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} registered {Model} version {Version} (train_loss {TrainLoss}; dataset {DatasetMs} ms, training {TrainingMs} ms, registration {RegistrationMs} ms)")]
    private static partial void LogSucceeded(ILogger logger, string jobId, string model, long version, double trainLoss, long datasetMs, long trainingMs, long registrationMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} {State}: {Reason}")]
    private static partial void LogEnded(ILogger logger, string jobId, string state, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} left Running: the trainer is stopping")]
    private static partial void LogStopped(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} hit an unexpected error")]
    private static partial void LogUnexpected(ILogger logger, Exception ex, string jobId);
}
