using System.Diagnostics;

namespace MaaS.RegistryBenchmarks.Scenarios;

/// <summary>
/// Fills the registry: the models of the catalogue, then their versions, each writer owning a share of
/// the models and registering one version per model per round, so all models grow together as they
/// would in a real registry. Throughput = versions / wall time of the version phase.
/// </summary>
public static class PopulateScenario
{
    /// <summary>Creates the models and registers their versions.</summary>
    public static async Task RunAsync(ScenarioContext context)
    {
        var (o, client, results) = (context.Options, context.Registry.Client, context.Results);
        context.Progress.WriteLine($"[{results.Store}] creating {o.Models} models");
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, o.Writers).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < o.Models)
            {
                await Workload.CreateModelAsync(client, i);
            }
        }));
        results.Models = o.Models;

        var total = o.Models * o.VersionsPerModel;
        context.Progress.WriteLine($"[{results.Store}] registering {total} versions ({o.ArtifactBytes} B artifacts, {o.Writers} writers)");
        var done = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, o.Writers).Select(writer => Task.Run(async () =>
        {
            for (var round = 0; round < o.VersionsPerModel; round++)
            {
                for (var i = writer; i < o.Models; i += o.Writers)
                {
                    var seed = (long)i * 100_000 + round;
                    var (bytes, digest) = Workload.Artifact(seed, o.ArtifactBytes);
                    var manifest = Workload.Manifest(Workload.ModelName(i), digest, seed);
                    var started = Stopwatch.GetTimestamp();
                    await Workload.RegisterAsync(client, manifest, bytes);
                    results.Register.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    var n = Interlocked.Increment(ref done);
                    if (n % 1000 == 0)
                    {
                        context.Progress.WriteLine($"[{results.Store}] {n}/{total} versions, {n / clock.Elapsed.TotalSeconds:0} versions/s");
                    }
                }
            }
        })));
        results.PopulateSeconds = clock.Elapsed.TotalSeconds;
        results.Versions = total;

        // Every fifth model gets an alias, so the alias filter has something to find.
        context.Progress.WriteLine($"[{results.Store}] pointing '{Workload.Alias}' of every fifth model at its latest version");
        for (var i = 0; i < o.Models; i += 5)
        {
            await client.SetAliasAsync(new MaaS.Registry.V1.SetAliasRequest
            {
                ModelName = Workload.ModelName(i), Alias = Workload.Alias, Version = o.VersionsPerModel, Actor = "registry-benchmark", Reason = "benchmark",
            });
        }
    }
}
