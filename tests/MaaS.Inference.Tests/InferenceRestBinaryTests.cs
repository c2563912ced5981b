using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Inference;

namespace MaaS.Inference.Tests;

/// <summary>
/// One host with "linear" (FP32), "kitchen" (INT64, FP64, INT32, BOOL), "strings" (BYTES) and "batched"
/// (linear behind the dynamic batcher) loaded.
/// </summary>
public sealed class BinaryRestFixture : IAsyncLifetime
{
    public InferenceHost Host { get; } = new(settings: new Dictionary<string, string>
    {
        ["Inference:Models:batched:MaxBatchSize"] = "8",
        ["Inference:Models:batched:MaxQueueDelayMicroseconds"] = "100000",
    });

    public async Task InitializeAsync()
    {
        await Host.LoadAsync("batched", 1, TestModels.Linear());
        await Host.LoadAsync("linear", 1, TestModels.Linear());
        await Host.LoadAsync("kitchen", 1, TestModels.Kitchen());
        await Host.LoadAsync("strings", 1, TestModels.Strings());
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>Triton's binary tensor data extension on POST v2/models/{m}/infer, built as tritonclient.http builds it.</summary>
public sealed class InferenceRestBinaryTests(BinaryRestFixture fixture) : IClassFixture<BinaryRestFixture>
{
    private const string HeaderName = "Inference-Header-Content-Length";

    private HttpClient Http => fixture.Host.Http;

    [Fact]
    public async Task Infer_Fp32BinaryInAndOut_ReturnsTwoXPlusOneAsBytes()
    {
        var response = await PostBinaryAsync("/v2/models/linear/infer", """
            {"id":"bin-1","inputs":[{"name":"input","shape":[3,1],"datatype":"FP32","parameters":{"binary_data_size":12}}],
             "outputs":[{"name":"output","parameters":{"binary_data":true}}]}
            """, Floats(1, 2, 3));

        var answer = await BinaryAnswer.ReadAsync(response);
        Assert.Equal("bin-1", answer.Json.GetProperty("id").GetString());
        var output = answer.Output("output");
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([3L, 1L], output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(12, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt64());
        Assert.False(output.TryGetProperty("data", out _));
        Assert.Equal([3f, 5f, 7f], MemoryMarshal.Cast<byte, float>(answer.Bytes("output")).ToArray());
    }

    [Fact]
    public async Task Infer_Int64BoolInt32Fp64Binary_SameAnswerAsJsonRequest()
    {
        var json = await PostJsonAsync("/v2/models/kitchen/infer", """
            {"inputs":[
              {"name":"ids","shape":[2,2],"datatype":"INT64","data":[41,-1,7,9000000000]},
              {"name":"values","shape":[2,2],"datatype":"FP64","data":[1.5,2,-0.25,1e300]},
              {"name":"counts","shape":[2],"datatype":"INT32","data":[3,-4]},
              {"name":"flags","shape":[2],"datatype":"BOOL","data":[false,true]}]}
            """);
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal("application/json", json.Content.Headers.ContentType?.MediaType);
        Assert.Null(HeaderOf(json));
        using var expected = JsonDocument.Parse(await json.Content.ReadAsStringAsync());

        byte[] tail = [.. Int64s(41, -1, 7, 9000000000), .. Doubles(1.5, 2, -0.25, 1e300), .. Int32s(3, -4), 0, 1];
        var binary = await PostBinaryAsync("/v2/models/kitchen/infer", """
            {"inputs":[
              {"name":"ids","shape":[2,2],"datatype":"INT64","parameters":{"binary_data_size":32}},
              {"name":"values","shape":[2,2],"datatype":"FP64","parameters":{"binary_data_size":32}},
              {"name":"counts","shape":[2],"datatype":"INT32","parameters":{"binary_data_size":8}},
              {"name":"flags","shape":[2],"datatype":"BOOL","parameters":{"binary_data_size":2}}]}
            """, tail);

        // No output asked as binary: a plain JSON answer, equal to the JSON request's.
        Assert.Equal(HttpStatusCode.OK, binary.StatusCode);
        Assert.Equal("application/json", binary.Content.Headers.ContentType?.MediaType);
        Assert.Null(HeaderOf(binary));
        using var actual = JsonDocument.Parse(await binary.Content.ReadAsStringAsync());
        Assert.Equal(expected.RootElement.GetProperty("outputs").GetRawText(), actual.RootElement.GetProperty("outputs").GetRawText());
        var outputs = actual.RootElement.GetProperty("outputs");
        Assert.Equal([42L, 0L, 8L, 9000000001L], outputs[0].GetProperty("data").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([true, false], outputs[3].GetProperty("data").EnumerateArray().Select(e => e.GetBoolean()));
    }

    [Fact]
    public async Task Infer_MixedJsonAndBinaryInputs_BinaryBytesGoToTheirInputsInOrder()
    {
        byte[] tail = [.. Int64s(1, 2), .. Int32s(5), 1];
        var response = await PostBinaryAsync("/v2/models/kitchen/infer", """
            {"inputs":[
              {"name":"ids","shape":[1,2],"datatype":"INT64","parameters":{"binary_data_size":16}},
              {"name":"values","shape":[1,2],"datatype":"FP64","data":[[0.5,4]]},
              {"name":"counts","shape":[1],"datatype":"INT32","parameters":{"binary_data_size":4}},
              {"name":"flags","shape":[1],"datatype":"BOOL","parameters":{"binary_data_size":1}}],
             "outputs":[{"name":"ids_next"},{"name":"values_twice"},{"name":"counts_same"},{"name":"flags_not"}]}
            """, tail);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var outputs = body.RootElement.GetProperty("outputs");
        Assert.Equal([2L, 3L], outputs[0].GetProperty("data").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([1.0, 8.0], outputs[1].GetProperty("data").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal([5], outputs[2].GetProperty("data").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([false], outputs[3].GetProperty("data").EnumerateArray().Select(e => e.GetBoolean()));
    }

    [Fact]
    public async Task Infer_BytesBinaryInputAndOutput_BinarySafeRoundTrip()
    {
        var elements = new[] { Encoding.UTF8.GetBytes("héllo"), [0, 255, 1], [], Encoding.UTF8.GetBytes("z") };
        var tail = BytesTensor(elements);
        var response = await PostBinaryAsync("/v2/models/strings/infer", $$$"""
            {"inputs":[{"name":"text","shape":[2,2],"datatype":"BYTES","parameters":{"binary_data_size":{{{tail.Length}}}}}],
             "parameters":{"binary_data_output":true}}
            """, tail);

        var answer = await BinaryAnswer.ReadAsync(response);
        var output = answer.Output("text_same");
        Assert.Equal("BYTES", output.GetProperty("datatype").GetString());
        Assert.Equal(tail.Length, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt64());
        Assert.Equal(tail, answer.Bytes("text_same"));
    }

    [Fact]
    public async Task Infer_BytesBinaryInputJsonOutput_ElementsAsStrings()
    {
        var tail = BytesTensor([Encoding.UTF8.GetBytes("a"), Encoding.UTF8.GetBytes("bc")]);
        var response = await PostBinaryAsync("/v2/models/strings/infer", $$$"""
            {"inputs":[{"name":"text","shape":[1,2],"datatype":"BYTES","parameters":{"binary_data_size":{{{tail.Length}}}}}]}
            """, tail);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(["a", "bc"], body.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Infer_BinaryDataOutputNoOutputsNamed_EveryOutputBinaryInModelOrder()
    {
        // JSON inputs and no Inference-Header-Content-Length: tritonclient sends this when only outputs are binary.
        var response = await PostJsonAsync("/v2/models/kitchen/infer", """
            {"inputs":[
              {"name":"ids","shape":[1,2],"datatype":"INT64","data":[10,20]},
              {"name":"values","shape":[1,2],"datatype":"FP64","data":[1.25,-3]},
              {"name":"counts","shape":[1],"datatype":"INT32","data":[6]},
              {"name":"flags","shape":[1],"datatype":"BOOL","data":[true]}],
             "parameters":{"binary_data_output":true}}
            """);

        var answer = await BinaryAnswer.ReadAsync(response);
        Assert.Equal(["ids_next", "values_twice", "counts_same", "flags_not"],
            answer.Json.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        Assert.All(answer.Json.GetProperty("outputs").EnumerateArray(), o => Assert.False(o.TryGetProperty("data", out _)));
        Assert.Equal([11L, 21L], MemoryMarshal.Cast<byte, long>(answer.Bytes("ids_next")).ToArray());
        Assert.Equal([2.5, -6.0], MemoryMarshal.Cast<byte, double>(answer.Bytes("values_twice")).ToArray());
        Assert.Equal([6], MemoryMarshal.Cast<byte, int>(answer.Bytes("counts_same")).ToArray());
        Assert.Equal([(byte)0], answer.Bytes("flags_not"));
    }

    [Fact]
    public async Task Infer_OneOutputBinaryOneJson_OwnBinaryDataFalseWinsOverRequest()
    {
        var response = await PostJsonAsync("/v2/models/kitchen/infer", """
            {"inputs":[
              {"name":"ids","shape":[1,2],"datatype":"INT64","data":[1,2]},
              {"name":"values","shape":[1,2],"datatype":"FP64","data":[1,2]},
              {"name":"counts","shape":[1],"datatype":"INT32","data":[1]},
              {"name":"flags","shape":[1],"datatype":"BOOL","data":[false]}],
             "parameters":{"binary_data_output":true},
             "outputs":[{"name":"flags_not","parameters":{"binary_data":false}},{"name":"ids_next"}]}
            """);

        var answer = await BinaryAnswer.ReadAsync(response);
        var outputs = answer.Json.GetProperty("outputs");
        Assert.Equal("flags_not", outputs[0].GetProperty("name").GetString());
        Assert.Equal([true], outputs[0].GetProperty("data").EnumerateArray().Select(e => e.GetBoolean()));
        Assert.False(outputs[0].TryGetProperty("parameters", out _));
        Assert.Equal("ids_next", outputs[1].GetProperty("name").GetString());
        Assert.Equal([2L, 3L], MemoryMarshal.Cast<byte, long>(answer.Bytes("ids_next")).ToArray());
        Assert.Equal(16, answer.Tail.Length);
    }

    [Fact]
    public async Task Infer_BinaryRequest_CountedInStatisticsLikeAnyOther()
    {
        async Task<long> CountAsync()
        {
            using var stats = JsonDocument.Parse(await Http.GetStringAsync("/v2/models/linear/versions/1/stats"));
            return stats.RootElement.GetProperty("model_stats")[0].GetProperty("inference_stats").GetProperty("success").GetProperty("count").GetInt64();
        }
        var before = await CountAsync();

        var response = await PostBinaryAsync("/v2/models/linear/infer",
            """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""", Floats(0, 1));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before + 1, await CountAsync());
    }

    [Fact]
    public async Task Infer_ConcurrentBinaryRequestsThroughBatcher_EachGetsItsOwnRows()
    {
        // JSON parts of different lengths put the tensor bytes at every alignment (read in place or copied).
        var calls = Enumerable.Range(0, 8).Select(async i =>
        {
            var json = """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}],"parameters":{"binary_data_output":true}}"""
                + new string(' ', i);
            var answer = await BinaryAnswer.ReadAsync(await PostBinaryAsync("/v2/models/batched/infer", json, Floats(i, -i)));
            return (i, Values: MemoryMarshal.Cast<byte, float>(answer.Bytes("output")).ToArray());
        }).ToArray();

        foreach (var (i, values) in await Task.WhenAll(calls))
        {
            Assert.Equal([2f * i + 1, -2f * i + 1], values);
        }
        using var stats = JsonDocument.Parse(await Http.GetStringAsync("/v2/models/batched/versions/1/stats"));
        var model = stats.RootElement.GetProperty("model_stats")[0];
        Assert.Equal(16, model.GetProperty("inference_count").GetInt64());
        Assert.NotEqual(0, model.GetProperty("batch_stats").GetArrayLength());
    }

    public static TheoryData<string, string, byte[], string?, string> BadRequests() => new()
    {
        { "linear", """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""", Floats(0, 1), "abc",
            "Inference-Header-Content-Length header must be one non-negative integer" },
        { "linear", """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""", Floats(0, 1), "-5",
            "Inference-Header-Content-Length header must be one non-negative integer" },
        { "linear", """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""", Floats(0, 1), "100000",
            "the whole body has only" },
        { "linear", """{"inputs":[{"name":"input","shape":[3,1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""", Floats(0, 1), null,
            "Input 'input' has binary_data_size 8 but shape [3,1] of FP32 needs 3 × 4 = 12 bytes" },
        { "linear", """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""", Floats(0, 1, 2), null,
            "12 bytes of binary data after the JSON part but the inputs' binary_data_size add up to 8" },
        { "linear", """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","data":[0,1]}]}""", Floats(0, 1), null,
            "8 bytes of binary data after the JSON part but the inputs' binary_data_size add up to 0" },
        { "linear", """{"inputs":[{"name":"input","shape":[3,1],"datatype":"FP32","parameters":{"binary_data_size":12}}]}""", Floats(0, 1), null,
            "Input 'input' has binary_data_size 12 but only 8 bytes of binary data are left" },
        { "linear", """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","data":[0,1],"parameters":{"binary_data_size":8}}]}""", Floats(0, 1), null,
            "Input 'input' has both binary_data_size and data" },
        { "linear", """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":-8}}]}""", Floats(0, 1), null,
            "Input 'input' has binary_data_size -8; it must be zero or more bytes" },
        { "linear", """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":"8"}}]}""", Floats(0, 1), null,
            "Input 'input' has binary_data_size \"8\"; it must be an integer" },
        { "linear", """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}],"outputs":[{"name":"output","parameters":{"binary_data":"yes"}}]}""", Floats(0, 1), null,
            "Parameter 'binary_data' of output 'output' must be true or false" },
        { "strings", """{"inputs":[{"name":"text","shape":[1,2],"datatype":"BYTES","parameters":{"binary_data_size":9}}]}""", [1, 0, 0, 0, (byte)'a', 9, 0, 0, 0], null,
            "Input 'text' gives BYTES element 1 a length of 9 bytes in its binary data but only 0 bytes follow" },
        { "strings", """{"inputs":[{"name":"text","shape":[1,2],"datatype":"BYTES","parameters":{"binary_data_size":7}}]}""", [1, 0, 0, 0, (byte)'a', 9, 0], null,
            "Input 'text' ends inside the length prefix of BYTES element 1" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Infer_BadBinaryRequest_400WithSentence(string model, string json, byte[] tail, string? header, string fragment)
    {
        var response = await PostBinaryAsync($"/v2/models/{model}/infer", json, tail, header);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(fragment, await ErrorAsync(response));
    }

    [Fact]
    public async Task Infer_BinaryDataSizeWithoutHeader_400NamesInputAndHeader()
    {
        var response = await PostJsonAsync("/v2/models/linear/infer",
            """{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Input 'input' has binary_data_size 8 but the request has no Inference-Header-Content-Length header", await ErrorAsync(response));
    }

    [Fact]
    public async Task ServerMetadata_RestAndGrpc_ListBinaryTensorData()
    {
        using var rest = JsonDocument.Parse(await Http.GetStringAsync("/v2"));
        var grpc = await fixture.Host.Client.ServerMetadataAsync(new ServerMetadataRequest());

        Assert.Contains("binary_tensor_data", rest.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("binary_tensor_data", grpc.Extensions);
    }

    /// <summary>The JSON, then the tensor bytes, with the JSON length in Inference-Header-Content-Length (or <paramref name="header"/> as given).</summary>
    private Task<HttpResponseMessage> PostBinaryAsync(string path, string json, byte[] tail, string? header = null)
    {
        var head = Encoding.UTF8.GetBytes(json);
        var content = new ByteArrayContent([.. head, .. tail]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.TryAddWithoutValidation(HeaderName, header ?? head.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Http.SendAsync(request);
    }

    private Task<HttpResponseMessage> PostJsonAsync(string path, string json) =>
        Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task<string> ErrorAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("error").GetString()!;
    }

    private static string? HeaderOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues(HeaderName, out var values) || response.Content.Headers.TryGetValues(HeaderName, out values)
            ? string.Join(",", values)
            : null;

    private static byte[] Floats(params float[] values) => MemoryMarshal.AsBytes<float>(values).ToArray();

    private static byte[] Doubles(params double[] values) => MemoryMarshal.AsBytes<double>(values).ToArray();

    private static byte[] Int64s(params long[] values) => MemoryMarshal.AsBytes<long>(values).ToArray();

    private static byte[] Int32s(params int[] values) => MemoryMarshal.AsBytes<int>(values).ToArray();

    private static byte[] BytesTensor(byte[][] elements)
    {
        var all = new List<byte>();
        foreach (var e in elements)
        {
            var prefix = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)e.Length);
            all.AddRange(prefix);
            all.AddRange(e);
        }
        return [.. all];
    }

    /// <summary>A binary answer split as a client splits it: JSON of the header's length, then each binary output's bytes in order.</summary>
    private sealed class BinaryAnswer
    {
        private readonly Dictionary<string, byte[]> bytes = [];

        public required JsonElement Json { get; init; }

        public required byte[] Tail { get; init; }

        public static async Task<BinaryAnswer> ReadAsync(HttpResponseMessage response)
        {
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, Encoding.UTF8.GetString(body));
            Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
            var length = int.Parse(HeaderOf(response) ?? throw new Xunit.Sdk.XunitException("no Inference-Header-Content-Length"),
                System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(body.Length, response.Content.Headers.ContentLength);
            using var document = JsonDocument.Parse(body.AsMemory(0, length));
            var answer = new BinaryAnswer { Json = document.RootElement.Clone(), Tail = body[length..] };
            var offset = 0;
            foreach (var output in answer.Json.GetProperty("outputs").EnumerateArray())
            {
                if (output.TryGetProperty("parameters", out var parameters) && parameters.TryGetProperty("binary_data_size", out var size))
                {
                    answer.bytes[output.GetProperty("name").GetString()!] = answer.Tail.AsSpan(offset, size.GetInt32()).ToArray();
                    offset += size.GetInt32();
                }
            }
            Assert.Equal(answer.Tail.Length, offset);
            return answer;
        }

        public JsonElement Output(string name) =>
            Json.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == name);

        public byte[] Bytes(string name) => bytes[name];
    }
}
