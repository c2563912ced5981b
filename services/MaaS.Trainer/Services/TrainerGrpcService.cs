using Grpc.Core;
using MaaS.ServiceDefaults;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.Peers;
using MaaS.Trainer.V1;
using Google.Protobuf.WellKnownTypes;

namespace MaaS.Trainer.Services;

/// <summary>
/// maas.trainer.v1.TrainerService: submit, list, look at, watch and cancel training jobs. The local store answers
/// first; a job kept by another replica is looked up on the peers (Trainer:Peers), and ListJobs merges them all.
/// </summary>
public sealed class TrainerGrpcService(JobSubmitter submitter, JobStore store, JobCancellations cancellations, TrainerPeers peers)
    : TrainerService.TrainerServiceBase
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
    public override async Task<GetJobResponse> GetJob(GetJobRequest request, ServerCallContext context)
    {
        var jobId = RequireJobId(request.JobId);
        var job = store.Get(jobId);
        if (job is not null) return new GetJobResponse { Job = job, History = { store.History(job.JobId) } };
        var owner = await FindOnPeersAsync(jobId, "GetJob", (c, o) => c.GetJobAsync(new GetJobRequest { JobId = jobId }, o).ResponseAsync, context);
        return owner.Value!;
    }

    /// <inheritdoc />
    public override async Task WatchJob(WatchJobRequest request, IServerStreamWriter<WatchJobResponse> responseStream, ServerCallContext context)
    {
        var jobId = RequireJobId(request.JobId);
        var watch = store.Watch(jobId);
        if (watch is null)
        {
            await RelayWatchAsync(jobId, responseStream, context);
            return;
        }
        using (watch)
        {
            await foreach (var job in watch.Reader.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(new WatchJobResponse { Job = job }, context.CancellationToken);
            }
        }
    }

    /// <inheritdoc />
    public override async Task<CancelJobResponse> CancelJob(CancelJobRequest request, ServerCallContext context)
    {
        var jobId = RequireJobId(request.JobId);
        var cancelled = store.Update(jobId, j =>
        {
            j.State = JobState.Cancelled;
            j.Message = "Cancelled on request before it started.";
            j.FinishedAt = Timestamp.FromDateTime(DateTime.UtcNow);
        }, when: j => j.State == JobState.Queued, jobEvents: j => [JobEvents.StateChanged(j)]);
        if (cancelled is not null) return new CancelJobResponse { Job = cancelled };

        var job = store.Get(jobId);
        if (job is null) return (await FindOnPeersAsync(jobId, "CancelJob", ForwardCancel(jobId), context)).Value!;
        if (JobStates.IsTerminal(job.State))
        {
            throw MeshErrors.FailedPrecondition($"Job '{jobId}' has already ended ({JobStates.EventName(job.State)}); only a queued or running job can be cancelled.");
        }
        // Running: the job stops at its next step and records Cancelled itself.
        if (!cancellations.Cancel(jobId))
        {
            // Recorded here but running elsewhere: the replica that runs it may be a peer.
            if (peers.Configured && !TrainerPeers.IsForwarded(context))
            {
                var search = await peers.FindAsync("CancelJob", ForwardCancel(jobId), context.CancellationToken);
                if (search.Found is { } owner) return owner.Value ?? throw Relay(owner.Refusal!);
            }
            throw MeshErrors.FailedPrecondition($"Job '{jobId}' is running on replica '{job.ReplicaId}', not this one; cancel it there.");
        }
        return new CancelJobResponse { Job = store.Get(jobId) ?? job };
    }

    /// <inheritdoc />
    public override async Task<ListJobsResponse> ListJobs(ListJobsRequest request, ServerCallContext context)
    {
        var forwarded = TrainerPeers.IsForwarded(context);
        // A replica merging pages asks its peers for one job more than its caller's page, to know whether more follow.
        if (request.PageSize < 0 || request.PageSize > (forwarded ? MaxPageSize + 1 : MaxPageSize))
        {
            throw MeshErrors.InvalidArgument($"page_size must be between 0 (default {DefaultPageSize}) and {MaxPageSize}; it is {request.PageSize}.");
        }
        if (!System.Enum.IsDefined(request.State))
        {
            throw MeshErrors.InvalidArgument($"state must be a JobState (0-5); it is {(int)request.State}.");
        }
        JobCursor? after = null;
        if (request.PageToken.Length > 0)
        {
            if (!JobCursor.TryParse(request.PageToken, out var cursor))
            {
                throw MeshErrors.InvalidArgument($"page_token must be the next_page_token of an earlier answer; '{request.PageToken}' is not.");
            }
            after = cursor;
        }
        var pageSize = request.PageSize == 0 ? DefaultPageSize : request.PageSize;
        if (forwarded || !peers.Configured)
        {
            var page = store.List(request.ModelName, request.State, pageSize, after);
            return new ListJobsResponse { Jobs = { page.Jobs }, NextPageToken = page.NextPageToken };
        }

        // Each source's pageSize + 1 newest after the cursor hold the merged pageSize + 1 newest: if any job follows
        // the merged page, the first of them is among them, so "more" is exact and the next cursor leaves no gap.
        var ask = new ListJobsRequest { ModelName = request.ModelName, State = request.State, PageSize = pageSize + 1, PageToken = request.PageToken };
        var remote = peers.AllAsync("ListJobs", (c, o) => c.ListJobsAsync(ask, o).ResponseAsync, context.CancellationToken);
        var local = store.List(request.ModelName, request.State, pageSize + 1, after);
        var merged = local.Jobs.Concat((await remote).SelectMany(r => r.Jobs))
            .DistinctBy(j => j.JobId, StringComparer.Ordinal)
            .Order(JobCursor.NewestFirst)
            .ToList();
        var jobs = merged.Take(pageSize).ToList();
        return new ListJobsResponse
        {
            Jobs = { jobs },
            NextPageToken = merged.Count > pageSize ? JobCursor.Of(jobs[^1]).ToToken() : "",
        };
    }

    // Streams the owner's snapshots until the job ends there or our caller leaves (its token cancels the relayed call).
    private async Task RelayWatchAsync(string jobId, IServerStreamWriter<WatchJobResponse> responseStream, ServerCallContext context)
    {
        var owner = await FindOnPeersAsync(jobId, "WatchJob", (c, o) => c.GetJobAsync(new GetJobRequest { JobId = jobId }, o).ResponseAsync, context);
        using var call = peers.Client(owner.Address).WatchJob(new WatchJobRequest { JobId = jobId }, peers.Forwarded(context.CancellationToken, deadline: false));
        try
        {
            await foreach (var update in call.ResponseStream.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(update, context.CancellationToken);
            }
        }
        catch (RpcException ex) when (!context.CancellationToken.IsCancellationRequested && ex.StatusCode != StatusCode.NotFound)
        {
            throw MeshErrors.Unavailable(
                $"The trainer replica at {owner.Address} that holds job '{jobId}' stopped answering its watch ({ex.StatusCode}: {ex.Status.Detail.TrimEnd('.')}); watch again.");
        }
    }

    // The peer that has the job and its answer; NotFound when none has it. A forwarded call never goes further.
    private async Task<PeerReply<T>> FindOnPeersAsync<T>(string jobId, string method,
        Func<TrainerService.TrainerServiceClient, CallOptions, Task<T>> call, ServerCallContext context) where T : class
    {
        if (!peers.Configured || TrainerPeers.IsForwarded(context)) throw UnknownJob(jobId);
        var search = await peers.FindAsync(method, call, context.CancellationToken);
        if (search.Found is not { } owner)
        {
            var silent = search.Unreachable > 0 ? $"; {search.Unreachable} of them did not answer" : "";
            throw MeshErrors.NotFound($"Job '{jobId}' is not known to any trainer replica (asked this one and {search.Asked} peer(s){silent}).");
        }
        return owner.Refusal is null ? owner : throw Relay(owner.Refusal);
    }

    private static Func<TrainerService.TrainerServiceClient, CallOptions, Task<CancelJobResponse>> ForwardCancel(string jobId) =>
        (c, o) => c.CancelJobAsync(new CancelJobRequest { JobId = jobId }, o).ResponseAsync;

    // The owner's own status and sentence, without the client-side trailers of the forwarded call.
    private static RpcException Relay(RpcException refusal) => new(refusal.Status);

    private static string RequireJobId(string jobId) =>
        jobId.Length > 0 ? jobId : throw MeshErrors.InvalidArgument("job_id is required.");

    private static RpcException UnknownJob(string jobId) => MeshErrors.NotFound(
        $"Job '{jobId}' is not known to this trainer (each replica keeps the jobs it took in its own trainer.db).");
}
