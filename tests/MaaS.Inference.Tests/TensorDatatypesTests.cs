using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Inference;

namespace MaaS.Inference.Tests;

/// <summary>One host with a model per new datatype: FP16, BF16 (raw only) and BYTES (typed, raw and JSON).</summary>
public sealed class DatatypesFixture : IAsyncLifetime
{
    public InferenceHost Host { get; } = new();

    public async Task InitializeAsync()
    {
        await Host.LoadAsync("half", 1, TestModels.Half());
        await Host.LoadAsync("bhalf", 1, TestModels.BHalf());
        await Host.LoadAsync("halves", 1, TestModels.ToHalves());
        await Host.LoadAsync("strings", 1, TestModels.Strings());
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public sealed class TensorDatatypesTests(DatatypesFixture fixture) : IClassFixture<DatatypesFixture>
{
    private GRPCInferenceService.GRPCInferenceServiceClient Client => fixture.Host.Client;

    [Fact]
    public async Task ModelInfer_Fp16Raw_ComesBackAsSentAndAsFloat()
    {
        Half[] values = [(Half)1.5f, (Half)(-2f), Half.MaxValue, (Half)0.000061035156f];
        var request = RawRequest("half", "FP16", MemoryMarshal.AsBytes<Half>(values).ToArray(), values.Length);

        var response = await Client.ModelInferAsync(request);

        Assert.Equal(["FP16", "FP32"], response.Outputs.Select(o => o.Datatype));
        Assert.Equal(values, MemoryMarshal.Cast<byte, Half>(response.RawOutputContents[0].Span).ToArray());
        Assert.Equal(values.Select(v => (float)v), MemoryMarshal.Cast<byte, float>(response.RawOutputContents[1].Span).ToArray());
    }

    [Fact]
    public async Task ModelInfer_Bf16Raw_ComesBackAsSentAndAsFloat()
    {
        float[] floats = [1.5f, -2f, 256f, 0.0078125f];
        var bits = floats.Select(f => (ushort)(BitConverter.SingleToInt32Bits(f) >> 16)).ToArray();
        var request = RawRequest("bhalf", "BF16", MemoryMarshal.AsBytes<ushort>(bits).ToArray(), bits.Length);

        var response = await Client.ModelInferAsync(request);

        Assert.Equal(["BF16", "FP32"], response.Outputs.Select(o => o.Datatype));
        Assert.Equal(bits, MemoryMarshal.Cast<byte, ushort>(response.RawOutputContents[0].Span).ToArray());
        Assert.Equal(floats, MemoryMarshal.Cast<byte, float>(response.RawOutputContents[1].Span).ToArray());
    }

    [Fact]
    public async Task ModelInfer_Fp16TypedContents_InvalidArgumentSaysRawOnly()
    {
        var request = new ModelInferRequest { ModelName = "half" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor
        {
            Name = "x", Datatype = "FP16", Shape = { 1 }, Contents = new InferTensorContents { Fp32Contents = { 1f } },
        });

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("'x'", ex.Status.Detail);
        Assert.Contains("raw_input_contents", ex.Status.Detail);
    }

    [Fact]
    public async Task ModelInfer_TypedRequestWithFp16AndBf16Outputs_AnsweredRaw()
    {
        var request = new ModelInferRequest { ModelName = "halves" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor
        {
            Name = "f", Datatype = "FP32", Shape = { 2 }, Contents = new InferTensorContents { Fp32Contents = { 0.5f, -3f } },
        });

        var response = await Client.ModelInferAsync(request);

        Assert.All(response.Outputs, o => Assert.Null(o.Contents));
        Assert.Equal([(Half)0.5f, (Half)(-3f)], MemoryMarshal.Cast<byte, Half>(response.RawOutputContents[0].Span).ToArray());
        Assert.Equal([(ushort)0x3F00, (ushort)0xC040], MemoryMarshal.Cast<byte, ushort>(response.RawOutputContents[1].Span).ToArray());
    }

    [Fact]
    public async Task ModelInfer_BytesTyped_EveryElementBackTypedByteForByte()
    {
        ByteString[] elements =
        [
            ByteString.CopyFromUtf8("hello"), ByteString.Empty, ByteString.CopyFrom(0xFF, 0x00, 0x80), ByteString.CopyFromUtf8("zoë ✓"),
        ];
        var request = new ModelInferRequest { ModelName = "strings", Id = "bytes-typed" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "text", Datatype = "BYTES", Shape = { 2, 2 }, Contents = new InferTensorContents() };
        input.Contents.BytesContents.AddRange(elements);
        request.Inputs.Add(input);

        var response = await Client.ModelInferAsync(request);

        var output = Assert.Single(response.Outputs);
        Assert.Equal("BYTES", output.Datatype);
        Assert.Equal([2L, 2L], output.Shape);
        Assert.Equal(elements, output.Contents.BytesContents);
        Assert.Empty(response.RawOutputContents);
    }

    [Fact]
    public async Task ModelInfer_BytesRaw_LengthPrefixedElementsBackRaw()
    {
        var raw = Encode([[1, 2, 3], [], "abc"u8.ToArray(), [0]]);
        var request = RawRequest("strings", "BYTES", raw, 2, 2);

        var response = await Client.ModelInferAsync(request);

        Assert.Equal("BYTES", response.Outputs[0].Datatype);
        Assert.Equal(raw, response.RawOutputContents[0].ToByteArray());
    }

    public static TheoryData<string, byte[], string> MalformedBytes => new()
    {
        { "prefix cut short", [5, 0, 0, 0, 1, 2, 3, 4, 5, 1, 0], "length prefix" },
        { "length beyond the end", Encode([[1], [2], [3]]).Concat(new byte[] { 9, 0, 0, 0, 1 }).ToArray(), "only 1 bytes follow" },
        { "bytes after the last element", Encode([[1], [2], [3], [4]]).Concat(new byte[] { 7 }).ToArray(), "after its 4 BYTES elements" },
        { "too few elements", Encode([[1], [2], [3]]), "length prefix of BYTES element 3" },
    };

    [Theory]
    [MemberData(nameof(MalformedBytes))]
    public async Task ModelInfer_BytesRawMalformed_InvalidArgumentNamingTheRule(string rule, byte[] raw, string fragment)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(RawRequest("strings", "BYTES", raw, 2, 2)));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("'text'", ex.Status.Detail);
        Assert.True(ex.Status.Detail.Contains(fragment, StringComparison.Ordinal), $"{rule}: {ex.Status.Detail}");
    }

    [Fact]
    public async Task ModelInfer_BytesTypedCountDiffers_InvalidArgument()
    {
        var request = new ModelInferRequest { ModelName = "strings" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "text", Datatype = "BYTES", Shape = { 1, 2 }, Contents = new InferTensorContents() };
        input.Contents.BytesContents.Add(ByteString.CopyFromUtf8("only one"));
        request.Inputs.Add(input);

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("1 values in contents.bytes_contents", ex.Status.Detail);
    }

    [Fact]
    public async Task Infer_RestBytesAsStrings_StringsBack()
    {
        var response = await PostAsync("/v2/models/strings/infer",
            """{"inputs":[{"name":"text","shape":[1,2],"datatype":"BYTES","data":["héllo", ""]}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var output = body.RootElement.GetProperty("outputs")[0];
        Assert.Equal("BYTES", output.GetProperty("datatype").GetString());
        Assert.Equal(["héllo", ""], output.GetProperty("data").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Infer_RestBytesGivenANumber_400()
    {
        var response = await PostAsync("/v2/models/strings/infer",
            """{"inputs":[{"name":"text","shape":[1,2],"datatype":"BYTES","data":["a", 5]}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not a BYTES value", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Infer_RestFp16Input_400SaysRawOnly()
    {
        var response = await PostAsync("/v2/models/half/infer",
            """{"inputs":[{"name":"x","shape":[1],"datatype":"FP16","data":[1.5]}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("raw bytes only", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Infer_RestFp16AndBf16Outputs_Numbers()
    {
        var response = await PostAsync("/v2/models/halves/infer",
            """{"inputs":[{"name":"f","shape":[2],"datatype":"FP32","data":[0.5, -3]}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var outputs = body.RootElement.GetProperty("outputs");
        Assert.Equal("FP16", outputs[0].GetProperty("datatype").GetString());
        Assert.Equal([0.5, -3.0], outputs[0].GetProperty("data").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal("BF16", outputs[1].GetProperty("datatype").GetString());
        Assert.Equal([0.5, -3.0], outputs[1].GetProperty("data").EnumerateArray().Select(e => e.GetDouble()));
    }

    [Fact]
    public async Task ModelMetadata_NewDatatypes_NamedAsTheProtocolSpellsThem()
    {
        var half = await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "half" });
        var bhalf = await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "bhalf" });
        var strings = await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "strings" });

        Assert.Equal("FP16", half.Inputs[0].Datatype);
        Assert.Equal("BF16", bhalf.Inputs[0].Datatype);
        Assert.Equal("BYTES", strings.Inputs[0].Datatype);
        Assert.Equal([-1L, 2L], strings.Inputs[0].Shape);
    }

    private static ModelInferRequest RawRequest(string model, string datatype, byte[] raw, params long[] shape)
    {
        var request = new ModelInferRequest { ModelName = model };
        var name = model == "strings" ? "text" : "x";
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = datatype, Shape = { shape } });
        request.RawInputContents.Add(ByteString.CopyFrom(raw));
        return request;
    }

    /// <summary>KServe's raw BYTES form: struct.pack("&lt;I", len(s)) + s per element.</summary>
    private static byte[] Encode(byte[][] elements)
    {
        var buffer = new List<byte>();
        foreach (var e in elements)
        {
            var prefix = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)e.Length);
            buffer.AddRange(prefix);
            buffer.AddRange(e);
        }
        return buffer.ToArray();
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json) =>
        fixture.Host.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
}
