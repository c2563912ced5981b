namespace MaaS.EndToEnd.Tests;

/// <summary>
/// The copy-paste clients of tests/clients against a live mesh, as an application developer runs them: each
/// trains a model through the gateway and watches the job to its end, lists the models and calls the new
/// version, which answers y ≈ 2x + 1 like the data it learnt from.
/// </summary>
public sealed class ClientsTests(MeshProcesses mesh, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<MeshProcesses>
{
    private static readonly double[] Probe = [0, 1, 2, 3];

    [Fact]
    public async Task PythonClient_TrainWatchListInfer_AnswersTwoXPlusOne()
    {
        var dataset = await mesh.UploadLineDatasetAsync("python-client-line", Line(seed: 1));
        var run = await mesh.RunPythonMaasClientAsync("python-client-line", dataset.Name, Probe);
        AssertRun(run, "python-client-line");
    }

    [Fact]
    public async Task NodeClient_TrainWatchListInfer_AnswersTwoXPlusOne()
    {
        var dataset = await mesh.UploadLineDatasetAsync("node-client-line", Line(seed: 2));
        var run = await mesh.RunNodeMaasClientAsync("node-client-line", dataset.Name, Probe);
        AssertRun(run, "node-client-line");
    }

    private void AssertRun(ClientRun run, string model)
    {
        output.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0, $"{model} client failed: {run}\n--- trainer ---\n{mesh.Log("trainer")}\n--- gateway ---\n{mesh.Log("gateway")}");

        var jobId = Assert.Single(run.Events("submitted"))["job_id"]!.GetValue<string>();
        var progress = run.Events("progress");
        Assert.NotEmpty(progress);
        Assert.All(progress, p => Assert.Equal(jobId, p["job_id"]!.GetValue<string>()));
        Assert.Contains(progress, p => p["epoch"] is not null);

        var job = Assert.Single(run.Events("job"));
        Assert.Equal("JOB_STATE_SUCCEEDED", job["state"]!.GetValue<string>());
        var version = job["registered_version"]!.GetValue<long>();
        Assert.True(version >= 1, $"registered version {version}");

        var models = Assert.Single(run.Events("models"))["models"]!.AsArray();
        var listed = Assert.Single(models, m => m!["name"]!.GetValue<string>() == model)!;
        Assert.Equal(version, listed["latest_version"]!.GetValue<long>());

        Assert.Single(run.Events("ready"));
        var infer = Assert.Single(run.Events("infer"));
        Assert.Equal(version.ToString(System.Globalization.CultureInfo.InvariantCulture), infer["model_version"]!.GetValue<string>());
        var outputs = infer["outputs"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(Probe.Length, outputs.Length);
        for (var i = 0; i < Probe.Length; i++)
        {
            Assert.InRange(outputs[i], 2 * Probe[i] + 1 - 0.25, 2 * Probe[i] + 1 + 0.25);
        }
    }

    /// <summary>100 rows of y = 2x + 1 + a little noise, x in [0, 3), the same for a seed.</summary>
    private static IEnumerable<(double X, double Y)> Line(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 100; i++)
        {
            var x = random.NextDouble() * 3;
            yield return (x, 2 * x + 1 + 0.05 * (random.NextDouble() - 0.5));
        }
    }
}
