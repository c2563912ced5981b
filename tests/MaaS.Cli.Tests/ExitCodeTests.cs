using Grpc.Core;
using MaaS.Cli.Framework;
using MaaS.Cli.Tests.Fakes;

namespace MaaS.Cli.Tests;

/// <summary>A server error is one line "error: &lt;status&gt;: &lt;sentence&gt;" and the exit code of its class.</summary>
public sealed class ExitCodeTests : IAsyncLifetime
{
    private readonly CliRunner cli = new();
    private FakeMesh mesh = null!;

    [Theory]
    [InlineData(StatusCode.OK, 0)]
    [InlineData(StatusCode.NotFound, 3)]
    [InlineData(StatusCode.InvalidArgument, 4)]
    [InlineData(StatusCode.FailedPrecondition, 4)]
    [InlineData(StatusCode.OutOfRange, 4)]
    [InlineData(StatusCode.Unavailable, 5)]
    [InlineData(StatusCode.DeadlineExceeded, 5)]
    [InlineData(StatusCode.Unauthenticated, 6)]
    [InlineData(StatusCode.PermissionDenied, 6)]
    [InlineData(StatusCode.Internal, 1)]
    [InlineData(StatusCode.AlreadyExists, 1)]
    [InlineData(StatusCode.ResourceExhausted, 1)]
    [InlineData(StatusCode.Unknown, 1)]
    public void For_EachStatus_GivesItsClassCode(StatusCode status, int expected) => Assert.Equal(expected, ExitCodes.For(status));

    [Theory]
    [InlineData(404, StatusCode.NotFound)]
    [InlineData(400, StatusCode.InvalidArgument)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(504, StatusCode.DeadlineExceeded)]
    [InlineData(500, StatusCode.Unknown)]
    public void StatusOf_RestAnswer_MapsToTheGrpcStatus(int http, StatusCode expected) => Assert.Equal(expected, ExitCodes.StatusOf(http));

    [Theory]
    [InlineData("NotFound", 3)]
    [InlineData("InvalidArgument", 4)]
    [InlineData("FailedPrecondition", 4)]
    [InlineData("Unavailable", 5)]
    [InlineData("DeadlineExceeded", 5)]
    [InlineData("Unauthenticated", 6)]
    [InlineData("PermissionDenied", 6)]
    [InlineData("Internal", 1)]
    public async Task Run_ServerAnswersAStatus_PrintsOneLineAndExitsWithItsCode(string status, int expected)
    {
        var result = await cli.RunAsync("models", "get", $"fail-{status}", "--address", mesh.Address);

        Assert.Equal(expected, result.ExitCode);
        Assert.Equal($"error: {status}: the fake was asked to fail with {status}", result.Error.TrimEnd());
        Assert.Equal("", result.Out);
    }

    [Fact]
    public async Task Run_UnknownModel_ExitsThreeWithTheServersSentence()
    {
        var result = await cli.RunAsync("models", "get", "nope", "--address", mesh.Address);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("error: NotFound: model 'nope' does not exist", result.Error.TrimEnd());
    }

    [Fact]
    public async Task Run_NothingListens_ExitsFiveNamingTheAddress()
    {
        var address = $"http://127.0.0.1:{FakeMesh.FreePort()}";

        var result = await cli.RunAsync("models", "list", "--address", address);

        Assert.Equal(5, result.ExitCode);
        Assert.StartsWith($"error: Unavailable: cannot reach the gateway at {address}", result.Error);
        Assert.Single(result.Error.TrimEnd().Split('\n'));
    }

    public async Task InitializeAsync() => mesh = await FakeMesh.StartAsync();

    public async Task DisposeAsync()
    {
        await mesh.DisposeAsync();
        cli.Dispose();
    }
}
