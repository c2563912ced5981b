using Grpc.Core;
using Inference;
using MaaS.Inference.Runtime;

namespace MaaS.Inference.Services;

/// <summary>Triton's ModelStreamInfer and ModelConfig rpcs.</summary>
public sealed partial class InferenceGrpcService
{
    /// <summary>
    /// Requests of one stream that may run at once: enough to fill a batch from one client, few enough that a
    /// client that stops reading answers holds a bounded amount of memory here.
    /// </summary>
    public const int MaxInFlightPerStream = 16;

    /// <summary>
    /// Triton's streaming inference: each request is answered with its response or with error_message (the
    /// same sentence ModelInfer would fail with); a failed request never ends the stream. Requests run
    /// concurrently (up to <see cref="MaxInFlightPerStream"/>) and are answered in order of completion, so
    /// clients match answers by id. The stream ends once the client has completed its side and every
    /// answer is written; the caller's cancellation (or deadline) ends it at once.
    /// </summary>
    public override async Task ModelStreamInfer(IAsyncStreamReader<ModelInferRequest> requestStream,
        IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        // The gateway resolves the version of the stream's first request (its routing key) and says so in the
        // header; the header is for that model and version only, not for other requests of the stream.
        var header = ResolvedVersion(context);
        string? firstModel = null;
        string? firstVersion = null;
        // Not disposed: neither ever hands out a wait handle, and answers still running may release them.
        var slots = new SemaphoreSlim(MaxInFlightPerStream);
        // A stream writer takes one write at a time.
        var writeLock = new SemaphoreSlim(1);
        var running = new List<Task>();
        try
        {
            while (await requestStream.MoveNext(ct))
            {
                var request = requestStream.Current;
                if (firstModel is null)
                {
                    (firstModel, firstVersion) = (request.ModelName, request.ModelVersion);
                }
                var resolved = header is not null && request.ModelName == firstModel && request.ModelVersion == firstVersion ? header : null;
                await slots.WaitAsync(ct);
                // An answer fails only when it cannot be written (the call is over): that ends the stream.
                if (running.Find(t => t.IsFaulted) is { } failed)
                {
                    await failed;
                }
                running.RemoveAll(t => t.IsCompleted);
                running.Add(AnswerAsync(request, resolved, responseStream, context, slots, writeLock));
            }
            // A cancelled or expired call ends here with OperationCanceledException; the error interceptor answers it
            // Cancelled or DeadlineExceeded.
            await Task.WhenAll(running);
        }
        finally
        {
            // No answer outlives the call (the cancelled ones end quickly); their failures are the call's, seen above.
            await Task.WhenAll(running).ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task AnswerAsync(ModelInferRequest request, string? resolvedVersion,
        IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context, SemaphoreSlim slots, SemaphoreSlim writeLock)
    {
        var ct = context.CancellationToken;
        try
        {
            // Off the reading loop at once: the loop goes on to the next request while this one runs.
            await Task.Yield();
            ModelStreamInferResponse answer;
            try
            {
                answer = new ModelStreamInferResponse { InferResponse = await InferAsync(request, resolvedVersion, context) };
            }
            catch (RpcException ex) when (!ct.IsCancellationRequested)
            {
                answer = new ModelStreamInferResponse { ErrorMessage = ex.Status.Detail };
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !ct.IsCancellationRequested)
            {
                LogStreamRequestFailed(logger, ex, request.ModelName, request.Id);
                answer = new ModelStreamInferResponse { ErrorMessage = $"Internal error in ModelStreamInfer for request '{request.Id}'; the service log has the details." };
            }
            // The id is echoed on an error too, so a client can tell which request failed (Triton's clients read
            // only error_message then, and an infer_response beside it does not bother them).
            if (answer.InferResponse is null && request.Id.Length > 0)
            {
                answer.InferResponse = new ModelInferResponse { Id = request.Id, ModelName = request.ModelName, ModelVersion = request.ModelVersion };
            }
            await writeLock.WaitAsync(ct);
            try
            {
                await responseStream.WriteAsync(answer, ct);
            }
            finally
            {
                writeLock.Release();
            }
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>
    /// Triton's model configuration of the version a ModelMetadata call would describe (same NotFound /
    /// FailedPrecondition / InvalidArgument answers), built from what this replica has loaded.
    /// </summary>
    public override Task<ModelConfigResponse> ModelConfig(ModelConfigRequest request, ServerCallContext context)
    {
        var (entry, error) = repository.Resolve(request.Name, request.Version, ResolvedVersion(context));
        if (entry is null)
        {
            throw error!;
        }
        return Task.FromResult(new ModelConfigResponse
        {
            Config = GrpcModelConfig.From(entry.Loaded!, repository.ConfigFor(entry.Model).VersionPolicy),
        });
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "ModelStreamInfer request {Id} for model {Model} failed unexpectedly")]
    private static partial void LogStreamRequestFailed(ILogger logger, Exception exception, string model, string id);
}
