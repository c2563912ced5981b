using MaaS.TrainerBenchmarks.Hosting;

namespace MaaS.TrainerBenchmarks.Scenarios;

/// <summary>The seed job's runs: the first one after the trainer started (cold) and the measured ones.</summary>
public sealed record SeedResults(TimedJob Cold, IReadOnlyList<TimedJob> Runs);

/// <summary>
/// Issue 5's seed job (100 rows of y = 2x + 1 + noise; linear regression, SGD, MSE, 1000 epochs, lr 0.1)
/// from SubmitJob to the registered version, on one replica.
/// </summary>
public static class SeedScenario
{
    /// <summary>Runs one cold job, then <see cref="BenchOptions.SeedRuns"/> measured ones.</summary>
    public static async Task<SeedResults> RunAsync(TrainerMesh mesh, TrainerReplica trainer, BenchOptions options, TextWriter progress)
    {
        var dataset = await Datasets.UploadAsync(mesh.Registry, "bench-line", Datasets.Line().ToCsv());
        var spec = Datasets.SeedSpec("bench-seed", dataset.Name, epochs: 1000);
        var cold = await JobRuns.RunAsync(trainer.Client, spec, TimeSpan.FromMinutes(3));
        progress.WriteLine($"[seed] cold run {cold.Seconds:0.000} s (version {cold.Job.RegisteredVersion})");
        var runs = new List<TimedJob>();
        for (var i = 0; i < options.SeedRuns; i++)
        {
            var run = await JobRuns.RunAsync(trainer.Client, spec, TimeSpan.FromMinutes(3));
            progress.WriteLine($"[seed] run {i + 1}: {run.Seconds:0.000} s (version {run.Job.RegisteredVersion}, trainer loop {run.TrainerLoopSeconds:0.000} s)");
            runs.Add(run);
        }
        return new SeedResults(cold, runs);
    }
}
