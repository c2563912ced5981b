using System.Runtime.InteropServices;
using Google.Protobuf;
using Inference;
using MaaS.Inference.Sampling;

namespace MaaS.Inference.Tests.Sampling;

/// <summary>
/// Sampling inside the hosted service: requests served over gRPC (alone and through the dynamic batcher)
/// land in the sampler. The interval is an hour so that the test, not the publisher, ends it.
/// </summary>
public sealed class SamplingServiceTests : IAsyncLifetime
{
    private readonly InferenceHost host = new(settings: new Dictionary<string, string>
    {
        ["Inference:Sampling:IntervalSeconds"] = "3600",
        ["Inference:Models:batched:MaxBatchSize"] = "8",
        ["Inference:Models:batched:MaxQueueDelayMicroseconds"] = "1000",
    });

    public async Task InitializeAsync()
    {
        await host.LoadAsync("alone", 1, TestModels.Linear());
        await host.LoadAsync("batched", 1, TestModels.Linear());
        await host.LoadAsync("kitchen", 1, TestModels.Kitchen());
    }

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task ModelInfer_TypedAndRawInputs_RowsSampledPerModel()
    {
        await host.Client.ModelInferAsync(InferenceHost.LinearRequest("alone", "1", 1f, 2f));
        var raw = new ModelInferRequest { ModelName = "alone", ModelVersion = "1" };
        raw.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { 1, 1 } });
        raw.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<float>([3.5f])));
        await host.Client.ModelInferAsync(raw);
        await host.Client.ModelInferAsync(InferenceHost.LinearRequest("batched", "1", 9f));

        var messages = host.Get<InputSampler>().Drain("r").ToDictionary(m => m.ModelName);

        Assert.Equal(3, messages["alone"].RowsSeen);
        Assert.Equal([[1.0], [2.0], [3.5]], messages["alone"].Rows);
        Assert.Equal([[9.0]], messages["batched"].Rows);
    }

    [Fact]
    public async Task ModelInfer_ModelWithSeveralInputs_NotSampled()
    {
        var request = new ModelInferRequest { ModelName = "kitchen", ModelVersion = "1" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "ids", Datatype = "INT64", Shape = { 1, 2 } });
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "values", Datatype = "FP64", Shape = { 1, 2 } });
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "counts", Datatype = "INT32", Shape = { 1 } });
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "flags", Datatype = "BOOL", Shape = { 1 } });
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<long>([1, 2])));
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<double>([1, 2])));
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<int>([1])));
        request.RawInputContents.Add(ByteString.CopyFrom([(byte)1]));
        await host.Client.ModelInferAsync(request);

        Assert.DoesNotContain(host.Get<InputSampler>().Drain("r"), m => m.ModelName == "kitchen");
    }
}
