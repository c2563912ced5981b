using System.Text.RegularExpressions;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using MaaS.Trainer.Peers;
using MaaS.Trainer.V1;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Jobs;

/// <summary>
/// The one way a job is created, for SubmitJob and for the TrainModel command: validate the spec,
/// check that the dataset (and the warm-start version) exist in the registry, store the job as
/// Queued and hand it to the worker.
/// </summary>
public sealed partial class JobSubmitter(
    SpecValidator validator,
    JobStore store,
    JobQueue queue,
    TrainerPeers peers,
    RegistryService.RegistryServiceClient registry,
    IOptions<TrainerOptions> options,
    ILogger<JobSubmitter> logger)
{
    /// <summary>
    /// Submits a job for a gRPC caller; a bad spec throws InvalidArgument, an unknown dataset or
    /// warm-start version NotFound, an unreachable registry Unavailable.
    /// </summary>
    public async Task<string> SubmitAsync(TrainingSpec spec, string correlationId, CancellationToken ct)
    {
        var (normalized, violations) = validator.Validate(spec);
        if (violations.Count > 0) throw MeshErrors.InvalidArgument(string.Join(" ", violations));
        if (SpecValidator.Unsupported(normalized) is { } unsupported) throw MeshErrors.FailedPrecondition(unsupported);
        await CheckRegistryAsync(normalized, ct);
        return Enqueue(NewJobId(), normalized, correlationId, toQueue: true)!;
    }

    /// <summary>
    /// Stores a job for a bus command, which the consumer then runs itself (so the bus's concurrency limit is the
    /// replica's). A spec the trainer refuses becomes a Failed job with the reason (redelivering it would fail
    /// the same way); only an unreachable registry throws, so the bus retries later. A job id already known is
    /// a redelivery: nothing is stored and null is returned, so the job is not run twice.
    /// </summary>
    public async Task<string?> SubmitCommandAsync(string jobId, TrainingSpec spec, string correlationId, CancellationToken ct)
    {
        var reasons = new List<string>();
        if (jobId.Length == 0)
        {
            jobId = NewJobId();
        }
        else if (!JobIdPattern().IsMatch(jobId))
        {
            reasons.Add($"JobId must match ^[A-Za-z0-9._-]{{1,64}}$; it is '{jobId}'.");
            jobId = NewJobId();
        }
        else if (store.Get(jobId) is not null)
        {
            LogDuplicate(logger, jobId);
            return null;
        }
        else if (await peers.HolderOfAsync(jobId, ct) is { } holder)
        {
            // Redelivered here after another replica took it (a broker outage while that one trained): the job is
            // there, running or done, so training it again here would only repeat its work.
            LogHeldByPeer(logger, jobId, holder.ReplicaId);
            return null;
        }

        var (normalized, violations) = validator.Validate(spec);
        reasons.AddRange(violations);
        if (reasons.Count == 0 && SpecValidator.Unsupported(normalized) is { } unsupported) reasons.Add(unsupported);
        if (reasons.Count == 0)
        {
            try
            {
                await CheckRegistryAsync(normalized, ct);
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument or StatusCode.FailedPrecondition)
            {
                reasons.Add(ex.Status.Detail);
            }
        }
        if (reasons.Count == 0) return Enqueue(jobId, normalized, correlationId, toQueue: false);

        var failed = NewJob(jobId, normalized, correlationId);
        failed.State = JobState.Failed;
        failed.Message = "The job was refused: " + string.Join(" ", reasons);
        failed.FinishedAt = failed.CreatedAt;
        if (!store.TryAdd(failed, JobEvents.StateChanged(failed)))
        {
            LogDuplicate(logger, jobId);
            return null;
        }
        LogRefused(logger, jobId, failed.Message);
        return null;
    }

    // A gRPC job goes to this replica's queue; a command's job is run by its consumer (toQueue: false).
    private string? Enqueue(string jobId, TrainingSpec spec, string correlationId, bool toQueue)
    {
        var job = NewJob(jobId, spec, correlationId);
        if (!store.TryAdd(job, JobEvents.StateChanged(job)))
        {
            LogDuplicate(logger, jobId);
            return toQueue ? jobId : null;
        }
        LogQueued(logger, jobId, spec.ModelName, spec.DatasetName, job.CorrelationId);
        if (toQueue) queue.Enqueue(jobId);
        return jobId;
    }

    private async Task CheckRegistryAsync(TrainingSpec spec, CancellationToken ct)
    {
        var which = spec.DatasetVersion == 0 ? "latest version" : $"version {spec.DatasetVersion}";
        DatasetVersion dataset;
        try
        {
            dataset = (await registry.GetDatasetAsync(new GetDatasetRequest { Name = spec.DatasetName, Version = spec.DatasetVersion }, cancellationToken: ct)).Dataset;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            throw MeshErrors.NotFound($"spec.dataset_name: the {which} of dataset '{spec.DatasetName}' is not in the registry ({Detail(ex)}).");
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument)
        {
            throw MeshErrors.InvalidArgument($"spec.dataset_name: the registry refused dataset '{spec.DatasetName}' ({Detail(ex)}).");
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled)
        {
            throw MeshErrors.Unavailable($"The registry could not be asked about dataset '{spec.DatasetName}': {ex.Status.StatusCode}: {Detail(ex)}.");
        }

        // The registry knows the row count: a batch larger than the dataset is refused now, not after the download.
        if (dataset is { RowCount: > 0 } && spec.BatchSize > dataset.RowCount)
        {
            throw MeshErrors.InvalidArgument(
                $"spec.batch_size is {spec.BatchSize}, more than the {dataset.RowCount} rows of version {dataset.Version} of dataset '{spec.DatasetName}'; use at most {dataset.RowCount} (or 0 for full batch).");
        }

        // The registry read the columns at upload (every one numeric): a column the spec names that is not
        // there is refused now, not after the download.
        if (dataset is { Columns.Count: > 0 })
        {
            var known = dataset.Columns.ToHashSet(StringComparer.Ordinal);
            var (field, missing) = !known.Contains(spec.LabelColumn) ? ("spec.label_column", spec.LabelColumn)
                : ("spec.feature_columns", spec.FeatureColumns.FirstOrDefault(c => !known.Contains(c)));
            if (missing is not null)
            {
                throw MeshErrors.InvalidArgument(
                    $"{field}: column '{missing}' is not in version {dataset.Version} of dataset '{spec.DatasetName}' (columns: {string.Join(", ", dataset.Columns)}).");
            }
        }

        if (spec.WarmStartVersion == 0) return;
        try
        {
            await registry.GetVersionAsync(new GetVersionRequest { ModelName = spec.ModelName, Version = spec.WarmStartVersion }, cancellationToken: ct);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument)
        {
            throw MeshErrors.NotFound(
                $"spec.warm_start_version: model '{spec.ModelName}' has no version {spec.WarmStartVersion} in the registry to start from ({Detail(ex)}).");
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled)
        {
            throw MeshErrors.Unavailable($"The registry could not be asked about version {spec.WarmStartVersion} of '{spec.ModelName}': {ex.Status.StatusCode}: {Detail(ex)}.");
        }
    }

    // The registry's own sentence, without its full stop, to sit inside ours.
    private static string Detail(RpcException ex) => ex.Status.Detail.TrimEnd('.');

    private Job NewJob(string jobId, TrainingSpec spec, string correlationId) => new()
    {
        ReplicaId = options.Value.ReplicaId,
        JobId = jobId,
        State = JobState.Queued,
        Spec = spec,
        Message = "Queued.",
        CorrelationId = correlationId.Length > 0 ? correlationId : Guid.NewGuid().ToString("N"),
        CreatedAt = Timestamp.FromDateTime(DateTime.UtcNow),
    };

    private static string NewJobId() => "job-" + Guid.NewGuid().ToString("N");

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex JobIdPattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} queued: model {Model}, dataset {Dataset}, correlation {CorrelationId}")]
    private static partial void LogQueued(ILogger logger, string jobId, string model, string dataset, string correlationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} is already known; the command is a redelivery and is ignored")]
    private static partial void LogDuplicate(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} is held by trainer replica {Replica}; the command is a redelivery and is ignored here")]
    private static partial void LogHeldByPeer(ILogger logger, string jobId, string replica);
}
