using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Inference;

namespace MaaS.Inference.Tests;

public sealed class InferenceGrpcServiceTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private GRPCInferenceService.GRPCInferenceServiceClient Client => fixture.Host.Client;

    [Fact]
    public async Task ServerLiveAndReady_RegistryUnreachable_LiveButNotReady()
    {
        Assert.True((await Client.ServerLiveAsync(new ServerLiveRequest())).Live);
        // Ready means "synced with the registry at least once"; the registry here is a closed port.
        Assert.False((await Client.ServerReadyAsync(new ServerReadyRequest())).Ready);
    }

    [Fact]
    public async Task ServerMetadata_Always_NamesServerAndImplementedExtensions()
    {
        var metadata = await Client.ServerMetadataAsync(new ServerMetadataRequest());

        Assert.Equal("maas-inference", metadata.Name);
        Assert.False(string.IsNullOrEmpty(metadata.Version));
        Assert.Equal(["model_repository", "binary_tensor_data", "statistics"], metadata.Extensions);
    }

    [Fact]
    public async Task ModelInfer_TypedContents_ReturnsTwoXPlusOneWithIdAndVersion()
    {
        var response = await Client.ModelInferAsync(InferenceHost.LinearRequest("linear", "", 1f, 2f, 3f));

        Assert.Equal("linear", response.ModelName);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal("req-1", response.Id);
        var output = Assert.Single(response.Outputs);
        Assert.Equal("output", output.Name);
        Assert.Equal("FP32", output.Datatype);
        Assert.Equal([3L, 1L], output.Shape);
        Assert.Equal([3f, 5f, 7f], output.Contents.Fp32Contents);
        Assert.Empty(response.RawOutputContents);
    }

    [Fact]
    public async Task ModelInfer_RawContents_ReturnsRawOutputs()
    {
        var request = new ModelInferRequest { ModelName = "linear", ModelVersion = "1", Id = "raw-7" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { 2, 1 } });
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<float>([10f, -0.5f])));

        var response = await Client.ModelInferAsync(request);

        Assert.Equal("raw-7", response.Id);
        var output = Assert.Single(response.Outputs);
        Assert.Null(output.Contents);
        Assert.Equal([2L, 1L], output.Shape);
        Assert.Equal([21f, 0f], MemoryMarshal.Cast<byte, float>(Assert.Single(response.RawOutputContents).Span).ToArray());
    }

    [Fact]
    public async Task ModelInfer_RequestedOutputByName_ReturnsOnlyThatOutput()
    {
        var request = KitchenRequest();
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "flags_not" });

        var response = await Client.ModelInferAsync(request);

        var output = Assert.Single(response.Outputs);
        Assert.Equal("flags_not", output.Name);
        Assert.Equal("BOOL", output.Datatype);
        Assert.Equal([false, true], output.Contents.BoolContents);
    }

    [Fact]
    public async Task ModelInfer_Int64Fp64Int32BoolTyped_EveryOutputComputed()
    {
        var response = await Client.ModelInferAsync(KitchenRequest());

        var outputs = response.Outputs.ToDictionary(o => o.Name);
        Assert.Equal(["ids_next", "values_twice", "counts_same", "flags_not"], response.Outputs.Select(o => o.Name));
        Assert.Equal([2L, 3L, 11L, long.MaxValue], outputs["ids_next"].Contents.Int64Contents);
        Assert.Equal("INT64", outputs["ids_next"].Datatype);
        Assert.Equal([1.0, -3.0, 0.5, 1e300], outputs["values_twice"].Contents.Fp64Contents);
        Assert.Equal("FP64", outputs["values_twice"].Datatype);
        Assert.Equal([7, -7], outputs["counts_same"].Contents.IntContents);
        Assert.Equal("INT32", outputs["counts_same"].Datatype);
        Assert.Equal([2L], outputs["counts_same"].Shape);
    }

    [Fact]
    public async Task ModelInfer_Int64Fp64Int32BoolRaw_RawOutputsInOrder()
    {
        var request = new ModelInferRequest { ModelName = "kitchen" };
        request.Inputs.Add(Input("ids", "INT64", 2, 2));
        request.Inputs.Add(Input("values", "FP64", 2, 2));
        request.Inputs.Add(Input("counts", "INT32", 2));
        request.Inputs.Add(Input("flags", "BOOL", 2));
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<long>([1, 2, 10, -5])));
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<double>([0.25, 1, 2, 3])));
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<int>([42, 0])));
        request.RawInputContents.Add(ByteString.CopyFrom([1, 0]));

        var response = await Client.ModelInferAsync(request);

        Assert.Equal(4, response.RawOutputContents.Count);
        Assert.Equal([2L, 3L, 11L, -4L], MemoryMarshal.Cast<byte, long>(response.RawOutputContents[0].Span).ToArray());
        Assert.Equal([0.5, 2, 4, 6], MemoryMarshal.Cast<byte, double>(response.RawOutputContents[1].Span).ToArray());
        Assert.Equal([42, 0], MemoryMarshal.Cast<byte, int>(response.RawOutputContents[2].Span).ToArray());
        Assert.Equal([0, 1], response.RawOutputContents[3].ToByteArray());
    }

    public static TheoryData<string> InvalidCases => new(Invalid.Keys);

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public async Task ModelInfer_InvalidRequest_InvalidArgumentNamingTensorAndRule(string rule)
    {
        var (request, expected) = Invalid[rule]();

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        foreach (var fragment in expected)
        {
            Assert.Contains(fragment, ex.Status.Detail);
        }
    }

    [Fact]
    public async Task ModelInfer_UnknownModel_NotFoundNamingIt()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.ModelInferAsync(InferenceHost.LinearRequest("no-such-model", "", 1f)));

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("'no-such-model'", ex.Status.Detail);
    }

    [Fact]
    public async Task ModelInfer_UnknownVersion_NotFoundNamingIt()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.ModelInferAsync(InferenceHost.LinearRequest("linear", "9", 1f)));

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("'linear' version 9", ex.Status.Detail);
    }

    [Fact]
    public async Task ModelMetadata_DynamicBatch_ShapesWithMinusOne()
    {
        var metadata = await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "linear" });

        Assert.Equal("linear", metadata.Name);
        Assert.Equal("onnxruntime_onnx", metadata.Platform);
        Assert.Equal(["1"], metadata.Versions);
        var input = Assert.Single(metadata.Inputs);
        Assert.Equal(("input", "FP32"), (input.Name, input.Datatype));
        Assert.Equal([-1L, 1L], input.Shape);
        var output = Assert.Single(metadata.Outputs);
        Assert.Equal(("output", "FP32"), (output.Name, output.Datatype));
        Assert.Equal([-1L, 1L], output.Shape);
    }

    [Fact]
    public async Task ModelReady_LoadedAndUnknown_TrueAndFalse()
    {
        Assert.True((await Client.ModelReadyAsync(new ModelReadyRequest { Name = "linear" })).Ready);
        Assert.True((await Client.ModelReadyAsync(new ModelReadyRequest { Name = "linear", Version = "1" })).Ready);
        Assert.False((await Client.ModelReadyAsync(new ModelReadyRequest { Name = "linear", Version = "2" })).Ready);
        Assert.False((await Client.ModelReadyAsync(new ModelReadyRequest { Name = "nothing" })).Ready);
    }

    [Fact]
    public async Task RepositoryIndex_LoadedVersions_ListedReady()
    {
        var index = await fixture.Host.IndexAsync(readyOnly: true);

        Assert.Equal("READY", index["linear/1"].State);
        Assert.Equal("READY", index["kitchen/1"].State);
    }

    [Fact]
    public async Task RepositoryIndex_UnservableInputKind_UnavailableWithReason()
    {
        var entry = await fixture.Host.Repository.LoadAsync("sequence", 1, TestModels.SequenceInput(), expectedDigest: null);

        var all = await fixture.Host.IndexAsync();
        var ready = await fixture.Host.IndexAsync(readyOnly: true);
        Assert.Equal("UNAVAILABLE", all["sequence/1"].State);
        Assert.Contains("'xs'", all["sequence/1"].Reason);
        Assert.Contains("not a tensor", all["sequence/1"].Reason);
        Assert.DoesNotContain("sequence/1", ready.Keys);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(InferenceHost.LinearRequest("sequence", "1", 1f)));
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal(Runtime.VersionState.Unavailable, entry.State);
    }

    [Fact]
    public async Task RepositoryIndex_DigestMismatch_UnavailableWithReason()
    {
        await fixture.Host.Repository.LoadAsync("tampered", 1, TestModels.Linear(), expectedDigest: new string('0', 64));

        var index = await fixture.Host.IndexAsync();

        Assert.Equal("UNAVAILABLE", index["tampered/1"].State);
        Assert.Contains("digest mismatch", index["tampered/1"].Reason);
    }

    [Fact]
    public async Task RepositoryIndex_OtherRepositoryName_NotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.RepositoryIndexAsync(new RepositoryIndexRequest { RepositoryName = "elsewhere" }));

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("'elsewhere'", ex.Status.Detail);
    }

    private static ModelInferRequest.Types.InferInputTensor Input(string name, string datatype, params long[] shape) =>
        new() { Name = name, Datatype = datatype, Shape = { shape } };

    private static ModelInferRequest KitchenRequest()
    {
        var request = new ModelInferRequest { ModelName = "kitchen", ModelVersion = "1" };
        var ids = Input("ids", "INT64", 2, 2);
        ids.Contents = new InferTensorContents { Int64Contents = { 1, 2, 10, long.MaxValue - 1 } };
        var values = Input("values", "FP64", 2, 2);
        values.Contents = new InferTensorContents { Fp64Contents = { 0.5, -1.5, 0.25, 5e299 } };
        var counts = Input("counts", "INT32", 2);
        counts.Contents = new InferTensorContents { IntContents = { 7, -7 } };
        var flags = Input("flags", "BOOL", 2);
        flags.Contents = new InferTensorContents { BoolContents = { true, false } };
        request.Inputs.Add(ids);
        request.Inputs.Add(values);
        request.Inputs.Add(counts);
        request.Inputs.Add(flags);
        return request;
    }

    /// <summary>Each broken rule: the request and the fragments its error must contain (the tensor's name and the rule).</summary>
    private static readonly Dictionary<string, Func<(ModelInferRequest, string[])>> Invalid = new()
    {
        ["unknown input"] = () =>
        {
            var r = InferenceHost.LinearRequest("linear", "1", 1f);
            r.Inputs[0].Name = "inputs";
            return (r, ["'inputs'", "not an input"]);
        },
        ["missing input"] = () =>
        {
            var r = KitchenRequest();
            r.Inputs.RemoveAt(3);
            return (r, ["'flags'", "missing"]);
        },
        ["duplicate input"] = () =>
        {
            var r = InferenceHost.LinearRequest("linear", "1", 1f);
            r.Inputs.Add(r.Inputs[0].Clone());
            return (r, ["'input'", "more than once"]);
        },
        ["datatype mismatch"] = () =>
        {
            var r = InferenceHost.LinearRequest("linear", "1", 1f);
            r.Inputs[0].Datatype = "FP64";
            return (r, ["'input'", "'FP64'", "expects FP32"]);
        },
        ["rank mismatch"] = () =>
        {
            var r = InferenceHost.LinearRequest("linear", "1", 1f, 2f);
            r.Inputs[0].Shape.Clear();
            r.Inputs[0].Shape.Add(2);
            return (r, ["'input'", "rank 1", "expects rank 2"]);
        },
        ["fixed dimension mismatch"] = () =>
        {
            var r = InferenceHost.LinearRequest("linear", "1", 1f, 2f);
            r.Inputs[0].Shape[0] = 1;
            r.Inputs[0].Shape[1] = 2;
            return (r, ["'input'", "axis 1", "fixes that axis at 1"]);
        },
        ["negative dimension"] = () =>
        {
            var r = InferenceHost.LinearRequest("linear", "1", 1f);
            r.Inputs[0].Shape[0] = -1;
            return (r, ["'input'", "dimension -1", "must not be negative"]);
        },
        ["element count differs from shape"] = () =>
        {
            var r = InferenceHost.LinearRequest("linear", "1", 1f, 2f);
            r.Inputs[0].Shape[0] = 3;
            return (r, ["'input'", "has 2 values", "needs 3"]);
        },
        ["absurd element count"] = () =>
        {
            var r = InferenceHost.LinearRequest("linear", "1", 1f);
            r.Inputs[0].Shape[0] = 1L << 40;
            return (r, ["'input'", "at most"]);
        },
        ["values in the wrong typed field"] = () =>
        {
            var r = InferenceHost.LinearRequest("linear", "1");
            r.Inputs[0].Shape[0] = 1;
            r.Inputs[0].Contents.Int64Contents.Add(1);
            return (r, ["'input'", "fp32_contents", "int64_contents"]);
        },
        ["raw byte size differs"] = () =>
        {
            var r = new ModelInferRequest { ModelName = "linear" };
            r.Inputs.Add(Input("input", "FP32", 3, 1));
            r.RawInputContents.Add(ByteString.CopyFrom(new byte[11]));
            return (r, ["'input'", "11 bytes", "12 bytes"]);
        },
        ["contents and raw both set"] = () =>
        {
            var r = InferenceHost.LinearRequest("linear", "1", 1f);
            r.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));
            return (r, ["'input'", "raw_input_contents"]);
        },
        ["raw count differs from inputs"] = () =>
        {
            var r = new ModelInferRequest { ModelName = "linear" };
            r.Inputs.Add(Input("input", "FP32", 1, 1));
            r.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));
            r.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));
            return (r, ["raw_input_contents holds 2 entries", "1 inputs"]);
        },
        ["unknown requested output"] = () =>
        {
            var r = InferenceHost.LinearRequest("linear", "1", 1f);
            r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "nope" });
            return (r, ["'nope'", "not an output"]);
        },
        ["version not a number"] = () => (InferenceHost.LinearRequest("linear", "latest", 1f), ["'latest'", "not a version number"]),
    };
}
