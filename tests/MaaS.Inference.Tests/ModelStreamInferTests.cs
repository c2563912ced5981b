using Grpc.Core;
using Inference;
using MaaS.Testing.Mesh;

namespace MaaS.Inference.Tests;

/// <summary>
/// Triton's ModelStreamInfer and ModelConfig over a real gRPC channel: "linear" v1 (y = 2x + 1) and "kitchen" v1
/// unbatched, "batched" v1 (the linear model) with dynamic batching configured.
/// </summary>
public sealed class ModelStreamInferTests : IAsyncLifetime
{
    private readonly InferenceHost host = new(settings: new Dictionary<string, string>
    {
        ["Inference:Models:batched:MaxBatchSize"] = "8",
        ["Inference:Models:batched:PreferredBatchSizes"] = "4,8",
        ["Inference:Models:batched:MaxQueueDelayMicroseconds"] = "500",
        ["Inference:Models:batched:VersionPolicy"] = "latest:2",
        // A lone request waits 10 s in this queue for company: long enough to cancel it there.
        ["Inference:Models:held:MaxBatchSize"] = "8",
        ["Inference:Models:held:MaxQueueDelayMicroseconds"] = "10000000",
    });

    public async Task InitializeAsync()
    {
        await host.LoadAsync("linear", 1, TestModels.Linear());
        await host.LoadAsync("kitchen", 1, TestModels.Kitchen());
        await host.LoadAsync("batched", 1, TestModels.Linear());
        await host.LoadAsync("held", 1, TestModels.Linear());
    }

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task ModelStreamInfer_SeveralRequests_EachAnsweredWithItsId()
    {
        var requests = Enumerable.Range(0, 6)
            .Select(i => WithId(InferenceHost.LinearRequest(i % 2 == 0 ? "linear" : "batched", "", i), $"r{i}")).ToList();

        var answers = await StreamAsync(requests);

        Assert.Equal(6, answers.Count);
        Assert.All(answers, a => Assert.Equal("", a.ErrorMessage));
        var byId = answers.ToDictionary(a => a.InferResponse.Id);
        for (var i = 0; i < 6; i++)
        {
            var response = byId[$"r{i}"].InferResponse;
            Assert.Equal(i % 2 == 0 ? "linear" : "batched", response.ModelName);
            Assert.Equal("1", response.ModelVersion);
            Assert.Equal([2f * i + 1], response.Outputs.Single(o => o.Name == "output").Contents.Fp32Contents);
        }
    }

    [Fact]
    public async Task ModelStreamInfer_BadRequestsInTheMiddle_AnsweredWithErrorMessageWhileOthersSucceed()
    {
        var wrongInput = WithId(InferenceHost.LinearRequest("linear", "", 5), "bad-input");
        wrongInput.Inputs[0].Name = "wrong";
        var requests = new List<ModelInferRequest>
        {
            WithId(InferenceHost.LinearRequest("linear", "", 1), "ok-1"),
            wrongInput,
            WithId(InferenceHost.LinearRequest("nobody", "", 1), "bad-model"),
            WithId(InferenceHost.LinearRequest("linear", "", 3), "ok-2"),
        };

        var answers = (await StreamAsync(requests)).ToDictionary(a => a.InferResponse.Id);

        Assert.Equal(4, answers.Count);
        Assert.Contains("Input 'wrong' is not an input", answers["bad-input"].ErrorMessage);
        Assert.Contains("'nobody'", answers["bad-model"].ErrorMessage);
        Assert.Equal("", answers["ok-1"].ErrorMessage);
        Assert.Equal([3f], answers["ok-1"].InferResponse.Outputs.Single().Contents.Fp32Contents);
        Assert.Equal("", answers["ok-2"].ErrorMessage);
        Assert.Equal([7f], answers["ok-2"].InferResponse.Outputs.Single().Contents.Fp32Contents);
    }

    [Fact]
    public async Task ModelStreamInfer_ClientCompletesItsSide_StreamEndsWithOk()
    {
        using var call = host.Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(WithId(InferenceHost.LinearRequest("linear", "", 4), "only"));
        await call.RequestStream.CompleteAsync();

        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal("only", call.ResponseStream.Current.InferResponse.Id);
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ModelStreamInfer_NoRequests_StreamEndsWithoutAnswers()
    {
        Assert.Empty(await StreamAsync([]));
    }

    [Fact]
    public async Task ModelStreamInfer_CallerCancels_QueuedRequestLeavesAndStreamEnds()
    {
        using var cancel = new CancellationTokenSource();
        using var call = host.Client.ModelStreamInfer(cancellationToken: cancel.Token);
        await call.RequestStream.WriteAsync(WithId(InferenceHost.LinearRequest("held", "1", 1f), "held"));
        await QueuedAsync("held", 1);

        await cancel.CancelAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        // The replica stopped the request too: it left the batching queue without running.
        await QueuedAsync("held", 0);
        var stats = Assert.Single((await host.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "held", Version = "1" })).ModelStats);
        Assert.Equal(0UL, stats.InferenceStats.Success.Count);
    }

    [Fact]
    public async Task ModelStreamInfer_ResolvedVersionHeader_AppliesToTheFirstRequestsModel()
    {
        await host.LoadAsync("linear", 2, TestModels.Linear(weight: 3));
        var requests = new List<ModelInferRequest>
        {
            WithId(InferenceHost.LinearRequest("linear", "", 1), "linear"),
            WithId(InferenceHost.LinearRequest("batched", "", 1), "other-model"),
        };

        var answers = (await StreamAsync(requests, InferenceHost.Resolved("2"))).ToDictionary(a => a.InferResponse.Id);

        // The gateway's header names the version of the stream's first model, not of every model on it
        // ("batched" has no version 2).
        Assert.Equal("2", answers["linear"].InferResponse.ModelVersion);
        Assert.Equal([4f], answers["linear"].InferResponse.Outputs.Single().Contents.Fp32Contents);
        Assert.Equal("", answers["other-model"].ErrorMessage);
        Assert.Equal("1", answers["other-model"].InferResponse.ModelVersion);
    }

    [Fact]
    public async Task ModelConfig_BatchedModel_DescribesBatchingWithoutTheBatchDimension()
    {
        var config = (await host.Client.ModelConfigAsync(new ModelConfigRequest { Name = "batched" })).Config;

        Assert.Equal("batched", config.Name);
        Assert.Equal("onnxruntime_onnx", config.Platform);
        Assert.Equal("onnxruntime", config.Backend);
        Assert.Equal(8, config.MaxBatchSize);
        var input = Assert.Single(config.Input);
        Assert.Equal(("input", DataType.TypeFp32), (input.Name, input.DataType));
        Assert.Equal([1L], input.Dims);
        var output = Assert.Single(config.Output);
        Assert.Equal(("output", DataType.TypeFp32), (output.Name, output.DataType));
        Assert.Equal([1L], output.Dims);
        Assert.Equal([4, 8], config.DynamicBatching.PreferredBatchSize);
        Assert.Equal(500UL, config.DynamicBatching.MaxQueueDelayMicroseconds);
        Assert.Equal(2U, config.VersionPolicy.Latest.NumVersions);
        var group = Assert.Single(config.InstanceGroup);
        Assert.Equal(ModelInstanceGroup.Types.Kind.Cpu, group.Kind);
        Assert.True(group.Count >= 1);
    }

    [Fact]
    public async Task ModelConfig_UnbatchedModel_FullShapesWithDynamicDimensionsAndEveryDatatype()
    {
        var config = (await host.Client.ModelConfigAsync(new ModelConfigRequest { Name = "kitchen", Version = "1" })).Config;

        Assert.Equal(0, config.MaxBatchSize);
        Assert.Null(config.DynamicBatching);
        var inputs = config.Input.ToDictionary(i => i.Name);
        Assert.Equal(DataType.TypeInt64, inputs["ids"].DataType);
        Assert.Equal([-1L, 2L], inputs["ids"].Dims);
        Assert.Equal(DataType.TypeFp64, inputs["values"].DataType);
        Assert.Equal(DataType.TypeInt32, inputs["counts"].DataType);
        Assert.Equal([-1L], inputs["counts"].Dims);
        Assert.Equal(DataType.TypeBool, inputs["flags"].DataType);
        Assert.Equal(["ids_next", "values_twice", "counts_same", "flags_not"], config.Output.Select(o => o.Name));
        Assert.Equal(DataType.TypeBool, config.Output.Single(o => o.Name == "flags_not").DataType);
    }

    [Fact]
    public async Task ModelConfig_UnknownModel_NotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Client.ModelConfigAsync(new ModelConfigRequest { Name = "nobody" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("'nobody'", ex.Status.Detail);
    }

    [Fact]
    public async Task ModelConfig_UnknownVersion_AnsweredAsModelMetadataAnswers()
    {
        var metadata = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "kitchen", Version = "9" }).ResponseAsync);
        var config = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.ModelConfigAsync(new ModelConfigRequest { Name = "kitchen", Version = "9" }).ResponseAsync);

        Assert.Equal(metadata.StatusCode, config.StatusCode);
        Assert.Equal(metadata.Status.Detail, config.Status.Detail);
    }

    private async Task QueuedAsync(string model, int count)
    {
        await InferenceHost.EventuallyAsync(() =>
        {
            using var lease = host.Repository.Acquire(model, "1", null);
            return Task.FromResult(lease.Model.Batcher.QueueLength == count);
        }, $"{count} requests of '{model}' are queued");
    }

    private static ModelInferRequest WithId(ModelInferRequest request, string id)
    {
        request.Id = id;
        return request;
    }

    private Task<List<ModelStreamInferResponse>> StreamAsync(IReadOnlyList<ModelInferRequest> requests, Metadata? headers = null) =>
        StreamInferCalls.SendAllAsync(host.Client, requests, headers);
}
