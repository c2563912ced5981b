using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Inference;

namespace MaaS.Inference.Tests;

/// <summary>Inference:MaxRequestBytes: the gRPC receive limit and the REST body limit, and the default well above gRPC's 4 MiB.</summary>
public sealed class MessageSizeTests
{
    [Fact]
    public async Task ModelInfer_OverMaxRequestBytes_ResourceExhausted()
    {
        await using var host = await SmallLimitHostAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.ModelInferAsync(RawLinear(2048)));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal("1", (await host.Client.ModelInferAsync(RawLinear(16))).ModelVersion);
    }

    [Fact]
    public async Task Infer_RestOverMaxRequestBytes_413NamingTheLimit()
    {
        await using var host = await SmallLimitHostAsync();
        var json = $$"""{"inputs":[{"name":"input","shape":[2000,1],"datatype":"FP32","data":[{{string.Join(",", Enumerable.Repeat("1.5", 2000))}}]}]}""";

        var declared = await host.Http.PostAsync("/v2/models/linear/infer", new StringContent(json, Encoding.UTF8, "application/json"));
        // No Content-Length: the limit holds on the bytes as they come.
        var streamed = await host.Http.PostAsync("/v2/models/linear/infer", new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json))));

        foreach (var response in new[] { declared, streamed })
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var error = body.RootElement.GetProperty("error").GetString();
            Assert.Contains("Inference:MaxRequestBytes (4096 bytes)", error);
        }
    }

    [Fact]
    public async Task ModelInfer_DefaultLimitSixMiBRequest_Answered()
    {
        await using var host = new InferenceHost();
        await host.LoadAsync("linear", 1, TestModels.Linear());
        const int rows = 6 * 1024 * 1024 / sizeof(float);

        var response = await host.Client.ModelInferAsync(RawLinear(rows));

        var output = MemoryMarshal.Cast<byte, float>(response.RawOutputContents[0].Span);
        Assert.Equal(rows, output.Length);
        Assert.Equal(2f * (rows - 1) + 1, output[^1]);
    }

    private static async Task<InferenceHost> SmallLimitHostAsync()
    {
        var host = new InferenceHost(settings: new Dictionary<string, string> { ["Inference:MaxRequestBytes"] = "4096" });
        await host.LoadAsync("linear", 1, TestModels.Linear());
        return host;
    }

    private static ModelInferRequest RawLinear(int rows)
    {
        var request = new ModelInferRequest { ModelName = "linear", ModelVersion = "1" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { rows, 1 } });
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<float>(Enumerable.Range(0, rows).Select(i => (float)i).ToArray())));
        return request;
    }
}
