using System.Text.Json;
using MaaS.Cli.Tests.Fakes;

namespace MaaS.Cli.Tests;

/// <summary>Tables for people by default; `--output json` prints the response messages as protobuf JSON.</summary>
public sealed class OutputTests : IAsyncLifetime
{
    private readonly CliRunner cli = new();
    private FakeMesh mesh = null!;

    [Fact]
    public async Task ModelsList_Json_IsTheListModelsResponseWithEveryField()
    {
        var result = await cli.RunAsync("models", "list", "--output", "json", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Out);
        var models = json.RootElement.GetProperty("models");
        Assert.Equal(2, models.GetArrayLength());
        var linear = models[1];
        Assert.Equal("linear-regression", linear.GetProperty("name").GetString());
        Assert.Equal("3", linear.GetProperty("latestVersion").GetString());
        Assert.Equal("2", linear.GetProperty("aliases").GetProperty("production").GetString());
        Assert.Equal("2025-01-31T12:00:00Z", linear.GetProperty("createdAt").GetString());
        // Unset fields are written too, so scripts can rely on them.
        Assert.Equal("", models[0].GetProperty("owner").GetString());
        Assert.Equal("", json.RootElement.GetProperty("nextPageToken").GetString());
    }

    [Fact]
    public async Task ModelsList_Limit_StopsPagingAndKeepsTheNextToken()
    {
        var result = await cli.RunAsync("--output", "json", "models", "list", "--limit", "1", "--address", mesh.Address);

        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(1, json.RootElement.GetProperty("models").GetArrayLength());
        Assert.Equal("1", json.RootElement.GetProperty("nextPageToken").GetString());
    }

    [Fact]
    public async Task ModelsList_Default_IsATableWithOneRowPerModel()
    {
        var result = await cli.RunAsync("models", "list", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        var lines = result.Out.Split('\n');
        Assert.Contains(lines, l => l.Contains("NAME") && l.Contains("TASK") && l.Contains("LATEST") && l.Contains("ALIASES"));
        var row = Assert.Single(lines, l => l.Contains("linear-regression"));
        Assert.Contains("regression", row);
        Assert.Contains("production=2, staging=3", row);
        Assert.Contains("ml-team", row);
        Assert.Contains("2025-01-31 12:00:00Z", row);
        Assert.Single(lines, l => l.Contains("churn"));
    }

    [Fact]
    public async Task ModelsGet_Default_ShowsFieldsAndAliases()
    {
        var result = await cli.RunAsync("models", "get", "linear-regression", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(result.Out.Split('\n'), l => l.Contains("aliases") && l.Contains("production=2, staging=3"));
        Assert.Contains(result.Out.Split('\n'), l => l.Contains("latest version") && l.Contains('3'));
    }

    [Fact]
    public async Task JobsGet_Json_HasTheJobStateByNameAndItsHistory()
    {
        var result = await cli.RunAsync("jobs", "get", "job-1", "-o", "json", "--address", mesh.Address);

        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal("JOB_STATE_SUCCEEDED", json.RootElement.GetProperty("job").GetProperty("state").GetString());
        Assert.Equal(40, json.RootElement.GetProperty("history").GetArrayLength());
        Assert.Equal(2.0, json.RootElement.GetProperty("history")[0].GetProperty("trainLoss").GetDouble());
    }

    [Fact]
    public async Task Timeline_Default_ListsEntriesWithTheirDetails()
    {
        var result = await cli.RunAsync("timeline", "linear-regression", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        var step = Assert.Single(result.Out.Split('\n'), l => l.Contains("v3 takes 10 %"));
        Assert.Contains("rollout_step", step);
        Assert.Contains("challenger_percent=10", step);
    }

    [Fact]
    public async Task KeysList_Default_ShowsTheKeyWithoutSecret()
    {
        var result = await cli.RunAsync("keys", "list", "--address", mesh.Address);

        var row = Assert.Single(result.Out.Split('\n'), l => l.Contains("0123456789abcdef"));
        Assert.Contains("ci", row);
        Assert.Contains("unlimited", row);
    }

    public async Task InitializeAsync() => mesh = await FakeMesh.StartAsync();

    public async Task DisposeAsync()
    {
        await mesh.DisposeAsync();
        cli.Dispose();
    }
}
