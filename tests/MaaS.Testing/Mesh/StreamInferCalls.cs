using Grpc.Core;
using Inference;

namespace MaaS.Testing.Mesh;

/// <summary>ModelStreamInfer as Triton's stream clients use it: write every request, close, read every answer.</summary>
public static class StreamInferCalls
{
    /// <summary>
    /// Sends <paramref name="requests"/> on one stream while reading (answers come as requests complete, not after the
    /// last one is sent), then closes the client side and returns every answer in arrival order; a minute at most.
    /// </summary>
    public static async Task<List<ModelStreamInferResponse>> SendAllAsync(GRPCInferenceService.GRPCInferenceServiceClient client,
        IReadOnlyList<ModelInferRequest> requests, Metadata? headers = null)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var call = client.ModelStreamInfer(headers, cancellationToken: cts.Token);
        var reading = Task.Run(async () =>
        {
            var answers = new List<ModelStreamInferResponse>();
            await foreach (var answer in call.ResponseStream.ReadAllAsync(cts.Token))
            {
                answers.Add(answer);
            }
            return answers;
        });
        foreach (var request in requests)
        {
            await call.RequestStream.WriteAsync(request);
        }
        await call.RequestStream.CompleteAsync();
        return await reading;
    }
}
