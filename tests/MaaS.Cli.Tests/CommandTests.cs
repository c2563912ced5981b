using System.Security.Cryptography;
using System.Text.Json;
using MaaS.Cli.Tests.Fakes;
using MaaS.Trainer.V1;

namespace MaaS.Cli.Tests;

/// <summary>Commands against fake services on loopback: what they send and what a user sees.</summary>
public sealed class CommandTests : IAsyncLifetime
{
    private readonly CliRunner cli = new();
    private FakeMesh mesh = null!;

    [Fact]
    public async Task TrainWatch_Piped_PrintsEachEpochWithLossesAndEtaThenTheVersion()
    {
        var result = await cli.RunAsync("train", "--model", "linear-regression", "--dataset", "lr-train", "--label", "y", "--features", "x",
            "--epochs", "3", "--learning-rate", "0.1", "--validation-split", "0.2", "--watch", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("job job-1 submitted", lines[0]);
        Assert.Equal("job job-1 QUEUED", lines[1]);
        Assert.Equal("job job-1 RUNNING epoch 1/3 · train loss 1 · val loss 1.5 · ETA 0:02", lines[2]);
        Assert.Equal("job job-1 RUNNING epoch 3/3 · train loss 0.333333 · val loss 0.5 · ETA 0:00", lines[4]);
        Assert.Equal("job job-1 SUCCEEDED after 3 epochs: linear-regression version 4 registered (train_mse=0.0125)", lines[^1]);
        var spec = mesh.State.Submitted!.Spec;
        Assert.Equal(("linear-regression", "lr-train", "y", 3, 0.1, 0.2), (spec.ModelName, spec.DatasetName, spec.LabelColumn, spec.Epochs, spec.LearningRate, spec.ValidationSplit));
        Assert.Equal(["x"], spec.FeatureColumns);
    }

    [Fact]
    public async Task TrainWatch_Terminal_RendersALiveProgressBar()
    {
        var result = await cli.RunAsync(interactive: true, "train", "--model", "linear-regression", "--dataset", "d", "--label", "y", "--watch", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("job-1 SUCCEEDED epoch 3/3 · train loss 0.333333 · val loss 0.5", result.Out);
        Assert.Contains("100%", result.Out);
        // Drawn with cursor movements, not printed line by line.
        Assert.Contains("\u001b[", result.Out);
    }

    [Fact]
    public async Task TrainWatch_Json_PrintsOneWatchResponsePerLine()
    {
        var result = await cli.RunAsync("train", "--model", "linear-regression", "--dataset", "d", "--label", "y", "--watch", "--output", "json", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        using var last = JsonDocument.Parse(lines[^1]);
        Assert.Equal("JOB_STATE_SUCCEEDED", last.RootElement.GetProperty("job").GetProperty("state").GetString());
    }

    [Fact]
    public async Task Train_SpecFileWithFlags_FlagsOverrideTheFile()
    {
        var spec = cli.PathOf("spec.json");
        await File.WriteAllTextAsync(spec, """{"modelName": "linear-regression", "datasetName": "d", "labelColumn": "y", "architecture": "mlp", "hiddenSizes": [8], "epochs": 50}""");

        var result = await cli.RunAsync("train", "--spec", spec, "--epochs", "7", "--hidden", "16,4", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("job job-1 submitted (maas jobs watch job-1)", result.Out.TrimEnd());
        var sent = mesh.State.Submitted!.Spec;
        Assert.Equal(("mlp", 7), (sent.Architecture, sent.Epochs));
        Assert.Equal([16, 4], sent.HiddenSizes);
    }

    [Fact]
    public async Task TrainWatch_JobFails_ExitsOneWithTheJobsMessage()
    {
        var result = await cli.RunAsync("train", "--model", "doomed", "--dataset", "d", "--label", "y", "--watch", "--address", mesh.Address);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: FAILED: job job-fail failed: the loss became NaN at epoch 2", result.Error.TrimEnd());
    }

    [Fact]
    public async Task JobsCancel_RunningJob_SaysCancelled()
    {
        var result = await cli.RunAsync("jobs", "cancel", "job-1", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("job job-1 CANCELLED after 2 epochs", result.Out.TrimEnd());
        Assert.Contains("Trainer/CancelJob", mesh.State.Calls);
    }

    [Fact]
    public async Task JobsCancel_EndedJob_ExitsFourWithTheReason()
    {
        var result = await cli.RunAsync("jobs", "cancel", "job-done", "--address", mesh.Address);

        Assert.Equal(4, result.ExitCode);
        Assert.Equal("error: FailedPrecondition: job job-done already ended (SUCCEEDED)", result.Error.TrimEnd());
    }

    [Fact]
    public async Task JobsWatch_UnknownJob_ExitsThree()
    {
        var result = await cli.RunAsync("jobs", "watch", "job-404", "--address", mesh.Address);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("error: NotFound: job 'job-404' does not exist", result.Error.TrimEnd());
    }

    [Fact]
    public async Task DatasetsUpload_CsvFile_SendsManifestDigestAndEveryByte()
    {
        var file = cli.PathOf("houses.csv");
        var csv = "x,y\n" + string.Join('\n', Enumerable.Range(0, 20_000).Select(i => $"{i},{2 * i + 1}")) + "\n";
        await File.WriteAllTextAsync(file, csv);

        var result = await cli.RunAsync("datasets", "upload", file, "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(("houses", "csv"), (mesh.State.UploadManifest!.Name, mesh.State.UploadManifest.Format));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))), mesh.State.UploadManifest.Digest);
        Assert.Equal(new FileInfo(file).Length, mesh.State.UploadedBytes);
        Assert.StartsWith("dataset houses version 1: 20000 rows, columns x, y", result.Out);
    }

    [Fact]
    public async Task DeploymentsSet_Targets_SendsVersionsPoolsAndWeights()
    {
        var result = await cli.RunAsync("deployments", "set", "linear-regression", "--target", "2=90", "--target", "3@gpu=10", "--shadow", "4=5",
            "--reason", "canary", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        var sent = mesh.State.Deployed!;
        Assert.Equal([(2L, "default", 90), (3L, "gpu", 10)], sent.Entries.Select(e => (e.Version, e.Pool, e.Weight)).ToArray());
        Assert.Equal((4L, 5), (sent.Shadow.Version, sent.Shadow.Percent));
        Assert.Contains("revision 3 in force", result.Out);
        Assert.Contains(result.Out.Split('\n'), l => l.Contains("v3") && l.Contains("gpu") && l.Contains("10 %"));
    }

    [Fact]
    public async Task PoliciesSet_SomeFlags_ChangeOnlyThoseFieldsOfTheCurrentPolicy()
    {
        var result = await cli.RunAsync("policies", "set", "linear-regression", "--min-improvement", "0.01", "--canary-steps", "10,50,100",
            "--bake-seconds", "30", "--auto-advance", "true", "--output", "json", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Out);
        var policy = json.RootElement.GetProperty("policy");
        Assert.Equal("100", policy.GetProperty("retrainAfterRows").GetString());
        Assert.Equal(0.01, policy.GetProperty("minImprovement").GetDouble());
        Assert.Equal(30, policy.GetProperty("rollout").GetProperty("bakeSeconds").GetInt32());
        Assert.Equal([10, 50, 100], policy.GetProperty("rollout").GetProperty("canarySteps").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    [Fact]
    public async Task Walkthrough_GatewayDown_RunsThroughTheFrameworkAndReportsAsBefore()
    {
        var address = $"http://127.0.0.1:{FakeMesh.FreePort()}";

        var result = await cli.RunAsync("walkthrough", "--address", address, "--rest", "http://127.0.0.1:1", "--timeout-seconds", "20");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("\n[1/7] generate 100 rows of y = 2x + 1 + noise(0.1)", result.Out.ReplaceLineEndings("\n"));
        Assert.Contains("walkthrough FAILED: ", result.Out);
        Assert.Equal("", result.Error);
    }

    public async Task InitializeAsync() => mesh = await FakeMesh.StartAsync();

    public async Task DisposeAsync()
    {
        await mesh.DisposeAsync();
        cli.Dispose();
    }
}
