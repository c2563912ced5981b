using System.Diagnostics;

namespace MaaS.RegistryBenchmarks.Scenarios;

/// <summary>
/// Artifact upload speed: large artifacts (8 MiB by default) registered one after the other as new
/// versions of one model, streamed in 64 KiB chunks. MB/s = bytes sent / wall time of the calls; the
/// client's own digest computation happens before the clock starts.
/// </summary>
public static class UploadScenario
{
    /// <summary>Name of the model that receives the large versions.</summary>
    public const string ModelName = "upload-bench";

    /// <summary>Registers the large artifacts.</summary>
    public static async Task RunAsync(ScenarioContext context)
    {
        var (o, client, results) = (context.Options, context.Registry.Client, context.Results);
        await Workload.CreateModelAsync(client, 0, ModelName);
        var size = o.UploadMiB * 1024 * 1024;
        context.Progress.WriteLine($"[{results.Store}] uploading {o.Uploads} artifacts of {o.UploadMiB} MiB");
        // One unmeasured upload first: connection windows, JIT of the streaming path.
        var (warm, warmDigest) = Workload.Artifact(-1, size);
        await Workload.RegisterAsync(client, Workload.Manifest(ModelName, warmDigest, -1), warm);

        var calls = new Reporting.Latencies();
        long bytes = 0;
        var wall = TimeSpan.Zero;
        for (var k = 0; k < o.Uploads; k++)
        {
            var seed = -1000L - k;
            var (artifact, digest) = Workload.Artifact(seed, size);
            var manifest = Workload.Manifest(ModelName, digest, seed);
            var started = Stopwatch.GetTimestamp();
            await Workload.RegisterAsync(client, manifest, artifact);
            var elapsed = Stopwatch.GetElapsedTime(started);
            calls.Add(elapsed.TotalMilliseconds);
            wall += elapsed;
            bytes += size;
        }
        results.Upload = (bytes, wall.TotalSeconds, calls);
    }
}
