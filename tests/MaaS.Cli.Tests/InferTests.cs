using System.Text.Json;
using MaaS.Cli.Inference;
using MaaS.Cli.Tests.Fakes;

namespace MaaS.Cli.Tests;

/// <summary>`maas infer` over gRPC and REST, and the tensor syntax.</summary>
public sealed class InferTests : IAsyncLifetime
{
    private readonly CliRunner cli = new();
    private FakeMesh mesh = null!;

    [Fact]
    public async Task Infer_Grpc_ShowsTheOutputDecodedFromRawBytes()
    {
        var result = await cli.RunAsync("infer", "linear-regression", "--input", "x=4,1:FP32:0,1,2,3", "--address", mesh.Address, "--api-key", "k");

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("linear-regression version 2", result.Out);
        var row = Assert.Single(result.Out.Split('\n'), l => l.Contains("output"));
        Assert.Contains("[0, 2, 4, 6]", row);
        Assert.Contains("[4,1]", row);
        Assert.Equal("Bearer k", mesh.State.LastAuthorization);
    }

    [Fact]
    public async Task Infer_RestWithPinnedVersion_CallsTheVersionsEndpoint()
    {
        var result = await cli.RunAsync("infer", "linear-regression", "--input", """{"name":"x","shape":[2,1],"datatype":"FP32","data":[[1],[5]]}""",
            "--version", "1", "--rest", mesh.RestAddress, "--api-key", "k");

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("linear-regression version 1", result.Out);
        Assert.Contains("[2, 10]", Assert.Single(result.Out.Split('\n'), l => l.Contains("output")));
        Assert.Equal("Bearer k", mesh.State.LastAuthorization);
        Assert.Equal("Rest/infer", mesh.State.Calls.Last());
    }

    [Fact]
    public async Task Infer_BareRestSwitch_UsesTheResolvedRestAddress()
    {
        cli.Environment["MAAS_REST_ADDRESS"] = mesh.RestAddress;

        var result = await cli.RunAsync("infer", "linear-regression", "--rest", "--input", "x=1:FP64:3", "--output", "json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(6, json.RootElement.GetProperty("outputs")[0].GetProperty("data")[0].GetDouble());
    }

    [Fact]
    public async Task Infer_RestUnknownModel_ExitsThreeWithTheGatewaysSentence()
    {
        var result = await cli.RunAsync("infer", "nope", "--input", "x=1:FP32:1", "--rest", mesh.RestAddress);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("error: NotFound: model 'nope' is not served", result.Error.TrimEnd());
    }

    [Fact]
    public void ParseSpec_TypedValues_FillTheMatchingContents()
    {
        var input = TensorInput.ParseSpec("flags=2x2:BOOL:true,0,1,false");

        Assert.Equal([2L, 2L], input.Shape);
        Assert.Equal([true, false, true, false], input.ToContents().BoolContents);
        Assert.Equal([-3L, 4L], TensorInput.ParseSpec("n=2:INT64:-3,4").ToContents().Int64Contents);
    }

    public async Task InitializeAsync() => mesh = await FakeMesh.StartAsync();

    public async Task DisposeAsync()
    {
        await mesh.DisposeAsync();
        cli.Dispose();
    }
}
