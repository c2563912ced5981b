using System.Globalization;
using Grpc.Core;
using MaaS.ServiceDefaults;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.V1;
using Google.Protobuf.WellKnownTypes;

namespace MaaS.Trainer.Services;

/// <summary>maas.trainer.v1.TrainerService: submit, list, look at, watch and cancel training jobs.</summary>
public sealed class TrainerGrpcService(JobSubmitter submitter, JobStore store, JobCancellations cancellations) : TrainerService.TrainerServiceBase
{
    private const int MaxCorrelationIdLength = 128;
    private const int DefaultPageSize = 50, MaxPageSize = 500;

    /// <inheritdoc />
    public override async Task<SubmitJobResponse> SubmitJob(SubmitJobRequest request, ServerCallContext context)
    {
        if (request.Spec is null) throw MeshErrors.InvalidArgument("spec is required.");
        if (request.CorrelationId.Length > MaxCorrelationIdLength)
        {
            throw MeshErrors.InvalidArgument($"correlation_id must be at most {MaxCorrelationIdLength} characters; it has {request.CorrelationId.Length}.");
        }
        var jobId = await submitter.SubmitAsync(request.Spec, request.CorrelationId, context.CancellationToken);
        return new SubmitJobResponse { JobId = jobId };
    }

    /// <inheritdoc />
    public override Task<GetJobResponse> GetJob(GetJobRequest request, ServerCallContext context)
    {
        var job = store.Get(RequireJobId(request.JobId)) ?? throw UnknownJob(request.JobId);
        return Task.FromResult(new GetJobResponse { Job = job, History = { store.History(job.JobId) } });
    }

    /// <inheritdoc />
    public override async Task WatchJob(WatchJobRequest request, IServerStreamWriter<WatchJobResponse> responseStream, ServerCallContext context)
    {
        using var watch = store.Watch(RequireJobId(request.JobId)) ?? throw UnknownJob(request.JobId);
        await foreach (var job in watch.Reader.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(new WatchJobResponse { Job = job }, context.CancellationToken);
        }
    }

    /// <inheritdoc />
    public override Task<CancelJobResponse> CancelJob(CancelJobRequest request, ServerCallContext context)
    {
        var jobId = RequireJobId(request.JobId);
        var cancelled = store.Update(jobId, j =>
        {
            j.State = JobState.Cancelled;
            j.Message = "Cancelled on request before it started.";
            j.FinishedAt = Timestamp.FromDateTime(DateTime.UtcNow);
        }, when: j => j.State == JobState.Queued, jobEvents: j => [JobEvents.StateChanged(j)]);
        if (cancelled is not null) return Task.FromResult(new CancelJobResponse { Job = cancelled });

        var job = store.Get(jobId) ?? throw UnknownJob(jobId);
        if (JobStates.IsTerminal(job.State))
        {
            throw MeshErrors.FailedPrecondition($"Job '{jobId}' has already ended ({JobStates.EventName(job.State)}); only a queued or running job can be cancelled.");
        }
        // Running: the job stops at its next step and records Cancelled itself.
        if (!cancellations.Cancel(jobId))
        {
            throw MeshErrors.FailedPrecondition($"Job '{jobId}' is running on replica '{job.ReplicaId}', not this one; cancel it there.");
        }
        return Task.FromResult(new CancelJobResponse { Job = store.Get(jobId) ?? job });
    }

    /// <inheritdoc />
    public override Task<ListJobsResponse> ListJobs(ListJobsRequest request, ServerCallContext context)
    {
        if (request.PageSize is < 0 or > MaxPageSize)
        {
            throw MeshErrors.InvalidArgument($"page_size must be between 0 (default {DefaultPageSize}) and {MaxPageSize}; it is {request.PageSize}.");
        }
        if (!System.Enum.IsDefined(request.State))
        {
            throw MeshErrors.InvalidArgument($"state must be a JobState (0-5); it is {(int)request.State}.");
        }
        long token = 0;
        if (request.PageToken.Length > 0 && (!long.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out token) || token <= 0))
        {
            throw MeshErrors.InvalidArgument($"page_token must be the next_page_token of an earlier answer; '{request.PageToken}' is not.");
        }
        var page = store.List(request.ModelName, request.State, request.PageSize == 0 ? DefaultPageSize : request.PageSize, token);
        return Task.FromResult(new ListJobsResponse { Jobs = { page.Jobs }, NextPageToken = page.NextPageToken });
    }

    private static string RequireJobId(string jobId) =>
        jobId.Length > 0 ? jobId : throw MeshErrors.InvalidArgument("job_id is required.");

    private static RpcException UnknownJob(string jobId) => MeshErrors.NotFound(
        $"Job '{jobId}' is not known to this trainer (each replica keeps the jobs it took in its own trainer.db).");
}
