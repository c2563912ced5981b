using Grpc.Core;
using MaaS.ServiceDefaults;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.V1;

namespace MaaS.Trainer.Services;

/// <summary>maas.trainer.v1.TrainerService: submit, look at and watch training jobs.</summary>
public sealed class TrainerGrpcService(JobSubmitter submitter, JobStore store) : TrainerService.TrainerServiceBase
{
    private const int MaxCorrelationIdLength = 128;

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
        return Task.FromResult(new GetJobResponse { Job = job });
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

    private static string RequireJobId(string jobId) =>
        jobId.Length > 0 ? jobId : throw MeshErrors.InvalidArgument("job_id is required.");

    private static RpcException UnknownJob(string jobId) => MeshErrors.NotFound(
        $"Job '{jobId}' is not known to this trainer (jobs live in the memory of the replica that took them and are lost when it restarts).");
}
