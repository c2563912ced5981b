using System.Buffers.Binary;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using MaaS.Cli.Plotting;
using MaaS.Cli.Tests.Fakes;
using MaaS.Updater.V1;

namespace MaaS.Cli.Tests;

/// <summary>`jobs plot` and `models plot` write real PNG charts.</summary>
public sealed class PlotTests : IAsyncLifetime
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private readonly CliRunner cli = new();
    private FakeMesh mesh = null!;

    [Fact]
    public async Task JobsPlot_JobWithHistory_WritesALossCurvePng()
    {
        var file = cli.PathOf("loss.png");

        var result = await cli.RunAsync("jobs", "plot", "job-1", "--out", file, "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        var (width, height) = AssertPng(file);
        Assert.Equal((Plots.Width, Plots.PanelHeight), (width, height));
        Assert.Contains("wrote", result.Out);
        Assert.Contains("40 epochs of job job-1", result.Out);
    }

    [Fact]
    public async Task JobsPlot_Json_ReportsTheFileAndItsSize()
    {
        var file = cli.PathOf("loss-json.png");

        var result = await cli.RunAsync("jobs", "plot", "job-1", "--out", file, "--output", "json", "--address", mesh.Address);

        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(file, json.RootElement.GetProperty("file").GetString());
        Assert.Equal(new FileInfo(file).Length, json.RootElement.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public async Task JobsPlot_NoProgressYet_FailsWithFailedPrecondition()
    {
        var result = await cli.RunAsync("jobs", "plot", "job-empty", "--out", cli.PathOf("empty.png"), "--address", mesh.Address);

        Assert.Equal(4, result.ExitCode);
        Assert.StartsWith("error: FailedPrecondition: job job-empty has no progress reports yet", result.Error);
        Assert.False(File.Exists(cli.PathOf("empty.png")));
    }

    [Fact]
    public async Task ModelsPlot_AfterARollout_DrawsMetricAndTrafficPanels()
    {
        var file = cli.PathOf("model.png");

        var result = await cli.RunAsync("models", "plot", "linear-regression", "--out", file, "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        var (width, height) = AssertPng(file);
        Assert.Equal((Plots.Width, 2 * Plots.PanelHeight), (width, height));
        Assert.Contains("val_mse for 3 version(s)", result.Out);
        Assert.Contains("traffic share at 4 moment(s) from the rollout timeline", result.Out);
    }

    [Fact]
    public async Task ModelsPlot_UnknownMetric_ExitsFourNamingTheMetricsThereAre()
    {
        var result = await cli.RunAsync("models", "plot", "linear-regression", "--metric", "auc", "--out", cli.PathOf("m.png"), "--address", mesh.Address);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("no version of linear-regression has the metric 'auc' (they have: train_mse, val_mse)", result.Error);
    }

    [Fact]
    public void FromTimeline_RolloutSteps_GiveTheSplitAfterEachStep()
    {
        var rollout = new Rollout { ChampionVersion = 2, ChallengerVersion = 3, ChallengerPercent = 50 };
        TimelineEntry[] entries =
        [
            new() { At = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddMinutes(1)), Kind = "rollout_step", Details = { ["challenger_percent"] = "10" } },
            new() { At = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddMinutes(2)), Kind = "gate", Summary = "90 % sure" },
            new() { At = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddMinutes(3)), Kind = "rollout_step", Summary = "step 2: 50 %" },
        ];

        var points = ModelPlotData.FromTimeline(entries, rollout, DateTimeOffset.UnixEpoch.AddMinutes(5));

        Assert.Equal(3, points.Count);
        Assert.Equal(90, points[0].Shares[2]);
        Assert.Equal(10, points[0].Shares[3]);
        Assert.Equal(50, points[1].Shares[3]);
        // The running rollout holds its split until now.
        Assert.Equal(DateTimeOffset.UnixEpoch.AddMinutes(5), points[2].At);
        Assert.Equal(50, points[2].Shares[2]);
    }

    [Fact]
    public void FromTimeline_RolledBack_ReturnsEverythingToTheChampion()
    {
        var rollout = new Rollout { ChampionVersion = 4, ChallengerVersion = 5, EndedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch) };
        TimelineEntry[] entries =
        [
            new() { At = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch), Kind = "rollout_step", Details = { ["challenger_percent"] = "25" } },
            new() { At = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddMinutes(1)), Kind = "rolled_back", Summary = "error rate 0.3 > 0.05" },
        ];

        var points = ModelPlotData.FromTimeline(entries, rollout, DateTimeOffset.UnixEpoch.AddHours(1));

        Assert.Equal(2, points.Count);
        Assert.Equal(100, points[1].Shares[4]);
        Assert.Equal(0, points[1].Shares[5]);
    }

    private static (int Width, int Height) AssertPng(string file)
    {
        var bytes = File.ReadAllBytes(file);
        Assert.Equal(PngSignature, bytes[..8]);
        // A chart with axes, lines and text, not an empty canvas.
        Assert.True(bytes.Length > 15_000, $"the PNG has only {bytes.Length} bytes");
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    public async Task InitializeAsync() => mesh = await FakeMesh.StartAsync();

    public async Task DisposeAsync()
    {
        await mesh.DisposeAsync();
        cli.Dispose();
    }
}
