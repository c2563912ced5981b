using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace MaaS.Inference.Tests;

public sealed class InferenceRestTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private HttpClient Http => fixture.Host.Http;

    [Fact]
    public async Task Infer_NestedJsonData_ReturnsTwoXPlusOne()
    {
        var response = await PostAsync("/v2/models/linear/infer",
            """{"id":"rest-1","inputs":[{"name":"input","shape":[3,1],"datatype":"FP32","data":[[1],[2],[3]]}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.Equal("linear", root.GetProperty("model_name").GetString());
        Assert.Equal("1", root.GetProperty("model_version").GetString());
        Assert.Equal("rest-1", root.GetProperty("id").GetString());
        var output = root.GetProperty("outputs")[0];
        Assert.Equal("output", output.GetProperty("name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([3L, 1L], output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([3f, 5f, 7f], output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()));
    }

    [Fact]
    public async Task Infer_VersionInPathAndFlatData_Int64AndBoolOutputs()
    {
        var response = await PostAsync("/v2/models/kitchen/versions/1/infer", """
            {"inputs":[
              {"name":"ids","shape":[1,2],"datatype":"INT64","data":[41,-1]},
              {"name":"values","shape":[1,2],"datatype":"FP64","data":[1.5,2]},
              {"name":"counts","shape":[1],"datatype":"INT32","data":[3]},
              {"name":"flags","shape":[1],"datatype":"BOOL","data":[false]}],
             "outputs":[{"name":"ids_next"},{"name":"flags_not"}]}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var outputs = body.RootElement.GetProperty("outputs");
        Assert.Equal(2, outputs.GetArrayLength());
        Assert.Equal([42L, 0L], outputs[0].GetProperty("data").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([true], outputs[1].GetProperty("data").EnumerateArray().Select(e => e.GetBoolean()));
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"input","shape":[1,1],"datatype":"INT64","data":[1]}]}""", "'input'")]
    [InlineData("""{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","data":[1]}]}""", "has 1 values")]
    [InlineData("""{"inputs":[{"name":"input","shape":[1,1],"datatype":"FP32","data":["x"]}]}""", "not a FP32 value")]
    [InlineData("""{"inputs":[{"name":"other","shape":[1,1],"datatype":"FP32","data":[1]}]}""", "'other'")]
    [InlineData("""{"inputs":[]}""", "'input'")]
    [InlineData("""{"inputs": 5}""", "'inputs'")]
    [InlineData("""not json""", "not valid JSON")]
    public async Task Infer_InvalidBody_400WithSentence(string body, string fragment)
    {
        var response = await PostAsync("/v2/models/linear/infer", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(fragment, await ErrorAsync(response));
    }

    [Fact]
    public async Task Infer_UnknownModel_404()
    {
        var response = await PostAsync("/v2/models/ghost/infer", """{"inputs":[]}""");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("'ghost'", await ErrorAsync(response));
    }

    [Fact]
    public async Task Infer_UnknownVersion_404()
    {
        var response = await PostAsync("/v2/models/linear/versions/5/infer",
            """{"inputs":[{"name":"input","shape":[1,1],"datatype":"FP32","data":[1]}]}""");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("version 5", await ErrorAsync(response));
    }

    [Fact]
    public async Task ModelMetadata_Rest_ShapesWithMinusOne()
    {
        using var body = JsonDocument.Parse(await Http.GetStringAsync("/v2/models/linear"));

        Assert.Equal("onnxruntime_onnx", body.RootElement.GetProperty("platform").GetString());
        var input = body.RootElement.GetProperty("inputs")[0];
        Assert.Equal("input", input.GetProperty("name").GetString());
        Assert.Equal([-1L, 1L], input.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
    }

    [Fact]
    public async Task Health_RegistryUnreachable_Live200Ready503()
    {
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/health/live")).StatusCode);
        var ready = await Http.GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("registry", await ErrorAsync(ready));
    }

    [Fact]
    public async Task ModelReady_Rest_200ForLoaded404ForUnknown()
    {
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/models/linear/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/models/linear/versions/1/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("/v2/models/ghost/ready")).StatusCode);
    }

    [Fact]
    public async Task ServerMetadata_Rest_NameAndExtensions()
    {
        using var body = JsonDocument.Parse(await Http.GetStringAsync("/v2"));

        Assert.Equal("maas-inference", body.RootElement.GetProperty("name").GetString());
        Assert.Equal(["model_repository", "binary_tensor_data", "statistics"], body.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task RepositoryIndex_Rest_ListsReadyVersions()
    {
        var response = await Http.PostAsJsonAsync("/v2/repository/index", new { ready = true });

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var entries = body.RootElement.EnumerateArray().Select(e => $"{e.GetProperty("name").GetString()}/{e.GetProperty("version").GetString()}:{e.GetProperty("state").GetString()}");
        Assert.Contains("linear/1:READY", entries);
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json) =>
        Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task<string> ErrorAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("error").GetString()!;
    }
}
