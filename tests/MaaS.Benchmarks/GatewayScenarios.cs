using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using Inference;
using MaaS.Benchmarks.Hosting;
using MaaS.Benchmarks.Load;
using MaaS.Benchmarks.Models;
using MaaS.Benchmarks.Reporting;
using MaaS.Registry.V1;

namespace MaaS.Benchmarks;

/// <summary>
/// Issue 6's gateway targets over real processes (<see cref="GatewayMesh"/>): g a weighted split,
/// h a shadow's cost to the caller, i a replica killed under load. They share one mesh, and i runs
/// last because it kills a replica.
/// </summary>
public sealed partial class GatewayScenarios(BenchmarkOptions options, GatewayMesh mesh, MarkdownReport report, Measured measured, TextWriter progress)
{
    private const float X = 3f;
    private const int SplitRequests = 10_000;

    private TimeSpan Warmup => TimeSpan.FromSeconds(options.WarmupSeconds);
    private TimeSpan Duration => TimeSpan.FromSeconds(options.Seconds);

    private RegistryService.RegistryServiceClient Registry => new(mesh.RegistryChannel);

    /// <summary>(g) A 90/10 deployment over 10,000 requests: the share each version received.</summary>
    public async Task SplitAsync()
    {
        const string model = "split";
        report.Section("g. Weighted split through the gateway (90/10 over 10,000 requests)",
            $"Model `{model}` has v1 (y = 2x + 1) and v2 (y = 3x + 1) registered in the real registry and loaded on both replicas; SetDeployment makes it v1 90 %, v2 10 % (pool `default`). " +
            $"Once the gateway answers from both versions, exactly {SplitRequests:#,0} ModelInfer calls with an empty version go through it at concurrency 16; each answer's model_version (checked against its value) says which version served it. " +
            "The binomial standard deviation of the v2 share is 0.3 points, so ±1.5 points is five of them.");
        if (!await PrepareModelAsync(model, [(1, 2f), (2, 3f)], "g")) return;
        try
        {
            await SetDeploymentAsync(model, [(1, 90), (2, 10)], shadow: null);
        }
        catch (RpcException ex)
        {
            NotRun("g", $"SetDeployment was refused ({ex.StatusCode}: {ex.Status.Detail})");
            return;
        }
        var request = BenchModels.Infer(model, "", 1, 1, _ => X);
        if (!await WaitForVersionsAsync(request, ["1", "2"], "g")) return;

        var counts = new ConcurrentDictionary<string, int>();
        var (failures, mismatched, firstError) = await RunCountAsync(SplitRequests, 16, async client =>
        {
            var response = await client.ModelInferAsync(request);
            counts.AddOrUpdate(response.ModelVersion, 1, (_, n) => n + 1);
            return long.TryParse(response.ModelVersion, CultureInfo.InvariantCulture, out var v) && BenchModels.FirstOutput(response) == (v + 1) * X + 1;
        });
        var v1 = counts.GetValueOrDefault("1");
        var v2 = counts.GetValueOrDefault("2");
        var answered = v1 + v2;
        var share = answered > 0 ? 100.0 * v2 / answered : double.NaN;
        report.TableHeader("requests", "answered by v1", "answered by v2", "v2 share", "target share", "deviation", "failed", "value ≠ version");
        report.Row(SplitRequests.ToString("#,0", CultureInfo.InvariantCulture), v1.ToString("#,0", CultureInfo.InvariantCulture),
            v2.ToString("#,0", CultureInfo.InvariantCulture), Points(share) + " %", "10 %", Points(share - 10) + " points",
            failures.ToString(CultureInfo.InvariantCulture), mismatched.ToString(CultureInfo.InvariantCulture));
        var other = counts.Where(kv => kv.Key is not ("1" or "2")).Sum(kv => kv.Value);
        if (other > 0) report.Note($"{other} answers named another version.");
        if (firstError is not null) report.Note($"First error seen: {firstError}.");
        measured.Split = (share, failures + mismatched + other);
        mesh.Succeeded = true;
    }

    /// <summary>(h) p50 of the caller with no shadow and with a 100 % shadow, alternating runs.</summary>
    public async Task ShadowAsync()
    {
        const string model = "mirror";
        report.Section("h. A 100 % shadow: the caller's latency with and without it",
            $"Model `{model}` has v1 and v2 registered and loaded on both replicas. Deployment A: v1 100 %, no shadow; deployment B: v1 100 % and shadow v2 at 100 % (every call is copied to v2 after the caller's answer). " +
            "At each concurrency (closed loop) and then at a fixed arrival rate of 2,000 calls/s (open loop, well below what the machine serves, so there is room for the copies), the tool runs A, B, A, B (each a warm-up, then a measured window, waiting for the gateway to see each change first) and pools the two runs of each; the caller's p50 with B is compared with A. " +
            "The fixed-rate calls are released on each timer tick (about 1 ms, longer on a busy machine), so their latency includes the queueing of the calls released together; A and B are released alike. " +
            "The shadow copies come from the gateway's metrics (sent, or dropped when its queue was full).");
        if (!await PrepareModelAsync(model, [(1, 2f), (2, 3f)], "h")) return;
        var request = BenchModels.Infer(model, "", 1, 1, _ => X);
        report.TableHeader("concurrency", "deployment", "throughput (req/s)", "p50 (ms)", "p90 (ms)", "p99 (ms)", "errors", "p50 with shadow / without");
        var levels = new[] { 1, 4 };
        var copiesAtStart = await ShadowCountsAsync(model);
        var errors = new List<string>();
        foreach (var c in levels)
        {
            var runs = new Dictionary<bool, List<LoadResult>> { [false] = [], [true] = [] };
            foreach (var withShadow in new[] { false, true, false, true })
            {
                if (!await SwitchShadowAsync(model, withShadow)) return;
                progress.WriteLine($"h: concurrency {c}, {(withShadow ? "with" : "without")} shadow");
                var result = await LoadRunner.RunAsync(mesh.GatewayGrpc, c, options.CallersPerChannel, Warmup, Duration,
                    channel => new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(request).ResponseAsync);
                runs[withShadow].Add(result);
                if (result.FirstError is not null) errors.Add($"concurrency {c}: {result.FirstError}");
            }
            var without = Pool(runs[false]);
            var with = Pool(runs[true]);
            var ratio = with.P50 / without.P50;
            report.Row(c.ToString(CultureInfo.InvariantCulture), "A: no shadow", MarkdownReport.Rate(without.Throughput), MarkdownReport.Ms(without.P50),
                MarkdownReport.Ms(without.P90), MarkdownReport.Ms(without.P99), without.Errors.ToString(CultureInfo.InvariantCulture), "");
            report.Row(c.ToString(CultureInfo.InvariantCulture), "B: shadow v2 at 100 %", MarkdownReport.Rate(with.Throughput), MarkdownReport.Ms(with.P50),
                MarkdownReport.Ms(with.P90), MarkdownReport.Ms(with.P99), with.Errors.ToString(CultureInfo.InvariantCulture), MarkdownReport.X(ratio));
            measured.ShadowP50[c] = (without.P50, with.P50, without.Errors + with.Errors);
        }
        // The same comparison at a fixed arrival rate well below what the machine can serve: the caller's latency
        // when there is spare capacity for the copies, which a closed loop at saturation cannot show.
        var copiesAfterClosed = await ShadowCountsAsync(model);
        var open = new Dictionary<bool, List<Sample>> { [false] = [], [true] = [] };
        var openSeconds = 0.0;
        foreach (var withShadow in new[] { false, true, false, true })
        {
            if (!await SwitchShadowAsync(model, withShadow)) return;
            progress.WriteLine($"h: {OpenLoopRate} req/s, {(withShadow ? "with" : "without")} shadow");
            var (samples, seconds) = await OpenLoopAsync(OpenLoopRate, Warmup, Duration,
                channel => new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(request).ResponseAsync);
            open[withShadow].AddRange(samples);
            if (!withShadow) openSeconds += seconds;
        }
        var openWithout = Stats.From(open[false], openSeconds);
        var openWith = Stats.From(open[true], openSeconds);
        var openRatio = openWith.P50 / openWithout.P50;
        var rateLabel = $"{OpenLoopRate:#,0} req/s (fixed rate)";
        report.Row(rateLabel, "A: no shadow", MarkdownReport.Rate(openWithout.Throughput), MarkdownReport.Ms(openWithout.P50),
            MarkdownReport.Ms(openWithout.P90), MarkdownReport.Ms(openWithout.P99), openWithout.Errors.ToString(CultureInfo.InvariantCulture), "");
        report.Row(rateLabel, "B: shadow v2 at 100 %", MarkdownReport.Rate(openWith.Throughput), MarkdownReport.Ms(openWith.P50),
            MarkdownReport.Ms(openWith.P90), MarkdownReport.Ms(openWith.P99), openWith.Errors.ToString(CultureInfo.InvariantCulture), MarkdownReport.X(openRatio));
        measured.ShadowOpenLoop = (openWithout.P50, openWith.P50, openWithout.Errors + openWith.Errors);
        // Settled: the last copies are sent in the background after the callers' answers.
        await Task.Delay(500);
        var copiesAtEnd = await ShadowCountsAsync(model);
        if (copiesAtStart is not null && copiesAfterClosed is not null && copiesAtEnd is not null)
        {
            report.Note($"Shadow copies of `{model}` to v2 by outcome (gateway metrics), closed-loop runs: {Delta(copiesAtStart, copiesAfterClosed)}; fixed-rate runs: {Delta(copiesAfterClosed, copiesAtEnd)} " +
                "(one background sender and a queue of 256: copies it cannot keep up with are dropped, never delaying the caller).");
        }
        else
        {
            report.Note("The gateway's metrics could not be read, so the shadow copies are not counted.");
        }
        if (errors.Count > 0) report.Note("First error seen: " + string.Join("; ", errors) + ".");
        mesh.Succeeded = true;
    }

    /// <summary>(i) One of two replicas killed (SIGKILL) under closed-loop load through the gateway.</summary>
    public async Task KillAsync()
    {
        const string model = "kill";
        const int concurrency = 16;
        report.Section("i. A replica killed under load (concurrency 16)",
            $"Model `{model}` v1 is loaded on both replicas (r1, r2); no deployment, so the gateway sends an empty version to the newest version ready, round-robin over the two. " +
            $"Closed-loop ModelInfer at concurrency {concurrency} through the gateway; {options.WarmupSeconds.ToString(CultureInfo.InvariantCulture)} s warm-up, then 2 s of load, then r2 is killed by its PID (SIGKILL: no goodbye), then 4 s more. " +
            "The gateway's first detection is the first log line that takes r2 out (a failed connection seen while forwarding, or the poll every 250 ms); failed calls are counted by when they ended.");
        if (!await PrepareModelAsync(model, [(1, 2f)], "i", register: false)) return;
        var request = BenchModels.Infer(model, "1", 1, 1, _ => X);
        var victim = mesh.Replicas[1];
        long killedAt = 0;
        var killedWall = DateTime.MinValue;
        var result = await LoadRunner.RunAsync(mesh.GatewayGrpc, concurrency, options.CallersPerChannel, Warmup, TimeSpan.FromSeconds(6),
            channel => new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(request).ResponseAsync, async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(2));
                progress.WriteLine($"i: killing {victim.Name} (PID {victim.Pid})");
                killedWall = DateTime.Now;
                killedAt = Stopwatch.GetTimestamp();
                using (var process = Process.GetProcessById(victim.Pid)) process.Kill();
                await Task.Delay(TimeSpan.FromSeconds(4));
            });

        // The gateway's log lines start with its local time (HH:mm:ss.fff); the first one about r2 after the kill is the detection.
        var detectedWall = mesh.Gateway.LogLines(" r2 ")
            .Where(l => l.Contains("is out", StringComparison.Ordinal))
            .Select(l => TimeSpan.TryParseExact(l.Length >= 12 ? l[..12] : "", @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture, out var t) ? (TimeSpan?)t : null)
            .OfType<TimeSpan>()
            .Select(t => killedWall.Date + t)
            .Where(t => t >= killedWall.AddMilliseconds(-5))
            .Order()
            .FirstOrDefault();
        var detected = detectedWall == default ? (long?)null
            : killedAt + (long)((detectedWall - killedWall).TotalSeconds * Stopwatch.Frequency);
        var samples = result.Samples;
        var beforeKill = samples.Count(s => s.Status != StatusCode.OK && s.End < killedAt);
        var beforeDetection = samples.Count(s => s.Status != StatusCode.OK && s.End >= killedAt && (detected is null || s.End < detected));
        var afterDetection = detected is { } d ? samples.Count(s => s.Status != StatusCode.OK && s.End >= d) : 0;
        var ok = samples.Count(s => s.Status == StatusCode.OK);
        var detectionMs = detected is { } dt ? (dt - killedAt) * 1000.0 / Stopwatch.Frequency : double.NaN;

        string retries;
        try
        {
            retries = RetryCounts(await mesh.GatewayMetricsAsync());
        }
        catch (HttpRequestException ex)
        {
            retries = $"unknown ({ex.Message})";
        }
        report.TableHeader("calls answered", "failed before the kill", "failed from the kill to the first detection", "failed after the first detection", "detection after the kill", "retries by the gateway");
        report.Row(ok.ToString("#,0", CultureInfo.InvariantCulture), beforeKill.ToString(CultureInfo.InvariantCulture),
            beforeDetection.ToString(CultureInfo.InvariantCulture), detected is null ? "– (no detection logged)" : afterDetection.ToString(CultureInfo.InvariantCulture),
            double.IsNaN(detectionMs) ? "–" : MarkdownReport.Ms(detectionMs) + " ms", retries);
        if (result.FirstError is not null) report.Note($"First error seen: {result.FirstError}.");
        measured.Kill = (beforeKill + beforeDetection, detected is null ? null : afterDetection);
        mesh.Succeeded = true;
    }

    /// <summary>Registers the versions in the registry (unless told not to) and loads them on both replicas.</summary>
    private async Task<bool> PrepareModelAsync(string model, (long Version, float Slope)[] versions, string scenario, bool register = true)
    {
        if (register)
        {
            try
            {
                await Registry.CreateModelAsync(new CreateModelRequest
                {
                    Name = model,
                    Description = "Gateway benchmark model",
                    Task = "regression",
                    Owner = "benchmarks",
                    IfAbsent = true,
                });
                var known = (await Registry.ListVersionsAsync(new ListVersionsRequest { ModelName = model })).Versions.Count;
                foreach (var (version, slope) in versions.Skip(known))
                {
                    var onnx = BenchModels.Linear(slope, 1);
                    var manifest = new VersionManifest
                    {
                        ModelName = model,
                        ArtifactDigest = Convert.ToHexStringLower(SHA256.HashData(onnx)),
                        CreatedBy = "benchmarks",
                    };
                    using var call = Registry.RegisterVersion();
                    await call.RequestStream.WriteAsync(new RegisterVersionRequest { Manifest = manifest });
                    await call.RequestStream.WriteAsync(new RegisterVersionRequest { Chunk = ByteString.CopyFrom(onnx) });
                    await call.RequestStream.CompleteAsync();
                    var registered = (await call.ResponseAsync).Version.Version;
                    if (registered != version)
                    {
                        NotRun(scenario, $"the registry numbered the version of slope {slope} as {registered}, not {version}");
                        return false;
                    }
                }
            }
            catch (RpcException ex)
            {
                NotRun(scenario, $"registering `{model}` failed ({ex.StatusCode}: {ex.Status.Detail})");
                return false;
            }
        }
        // Both versions in one load, kept side by side by the version policy.
        var load = new RepositoryModelLoadRequest { ModelName = model };
        load.Parameters["config"] = new ModelRepositoryParameter { StringParam = """{"max_batch_size":64,"version_policy":{"all":{}}}""" };
        foreach (var (version, slope) in versions)
        {
            load.Parameters[$"file:{version.ToString(CultureInfo.InvariantCulture)}/model.onnx"] =
                new ModelRepositoryParameter { BytesParam = ByteString.CopyFrom(BenchModels.Linear(slope, 1)) };
        }
        try
        {
            foreach (var channel in mesh.ReplicaChannels)
            {
                await new GRPCInferenceService.GRPCInferenceServiceClient(channel).RepositoryModelLoadAsync(load);
            }
        }
        catch (RpcException ex)
        {
            NotRun(scenario, $"RepositoryModelLoad of `{model}` was refused ({ex.StatusCode}: {ex.Status.Detail})");
            return false;
        }
        // The gateway learns what the replicas serve by polling them.
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(mesh.GatewayChannel);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var last = "";
        foreach (var (version, _) in versions)
        {
            while (true)
            {
                try
                {
                    if ((await client.ModelReadyAsync(new ModelReadyRequest { Name = model, Version = version.ToString(CultureInfo.InvariantCulture) })).Ready) break;
                }
                catch (RpcException ex)
                {
                    last = $"{ex.StatusCode}: {ex.Status.Detail}";
                }
                if (DateTime.UtcNow > deadline)
                {
                    NotRun(scenario, $"the gateway did not see `{model}` v{version} ready within 20 s ({last})");
                    return false;
                }
                await Task.Delay(100);
            }
        }
        return true;
    }

    /// <summary>
    /// All traffic to v1, with or without a 100 % shadow of v2, then waits for the gateway to route by it; false (scenario
    /// h marked not run) when the registry refuses the deployment.
    /// </summary>
    private async Task<bool> SwitchShadowAsync(string model, bool withShadow)
    {
        try
        {
            await SetDeploymentAsync(model, [(1, 100)], withShadow ? (2, 100) : null);
        }
        catch (RpcException ex)
        {
            NotRun("h", $"SetDeployment was refused ({ex.StatusCode}: {ex.Status.Detail})");
            return false;
        }
        // The gateway polls every 250 ms; two polls make sure it routes by the new deployment.
        await Task.Delay(750);
        return true;
    }

    private async Task SetDeploymentAsync(string model, (long Version, int Weight)[] entries, (long Version, int Percent)? shadow)
    {
        var request = new SetDeploymentRequest { ModelName = model, Actor = "benchmarks", Reason = "gateway benchmark" };
        foreach (var (version, weight) in entries)
        {
            request.Entries.Add(new DeploymentEntry { Version = version, Pool = "default", Weight = weight });
        }
        if (shadow is { } s)
        {
            request.Shadow = new ShadowTarget { Version = s.Version, Percent = s.Percent };
        }
        await Registry.SetDeploymentAsync(request);
    }

    /// <summary>Sends probe calls until every version in <paramref name="versions"/> has answered (the gateway saw the deployment).</summary>
    private async Task<bool> WaitForVersionsAsync(ModelInferRequest request, string[] versions, string scenario)
    {
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(mesh.GatewayChannel);
        var seen = new HashSet<string>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!versions.All(seen.Contains))
        {
            if (DateTime.UtcNow > deadline)
            {
                NotRun(scenario, $"the gateway answered only from versions [{string.Join(", ", seen)}] within 20 s");
                return false;
            }
            try
            {
                seen.Add((await client.ModelInferAsync(request)).ModelVersion);
            }
            catch (RpcException)
            {
                await Task.Delay(50);
            }
        }
        return true;
    }

    /// <summary>Exactly <paramref name="total"/> calls by <paramref name="concurrency"/> closed-loop callers on one channel each 16.</summary>
    private async Task<(int Failures, int Mismatched, string? FirstError)> RunCountAsync(int total, int concurrency,
        Func<GRPCInferenceService.GRPCInferenceServiceClient, Task<bool>> call)
    {
        var channels = Enumerable.Range(0, (concurrency + options.CallersPerChannel - 1) / options.CallersPerChannel)
            .Select(_ => BenchMesh.Channel(mesh.GatewayGrpc)).ToList();
        var next = 0;
        var failures = 0;
        var mismatched = 0;
        string? firstError = null;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(i => Task.Run(async () =>
            {
                var client = new GRPCInferenceService.GRPCInferenceServiceClient(channels[i / options.CallersPerChannel]);
                while (Interlocked.Increment(ref next) <= total)
                {
                    try
                    {
                        if (!await call(client)) Interlocked.Increment(ref mismatched);
                    }
                    catch (RpcException ex)
                    {
                        Interlocked.Increment(ref failures);
                        Interlocked.CompareExchange(ref firstError, $"{ex.StatusCode}: {ex.Status.Detail}", null);
                    }
                }
            })));
        }
        finally
        {
            foreach (var c in channels) c.Dispose();
        }
        return (failures, mismatched, firstError);
    }

    /// <summary>Arrival rate of h's open-loop rows: about a quarter of what the machine serves through the gateway at concurrency 4.</summary>
    private const int OpenLoopRate = 2000;

    /// <summary>
    /// Open loop: calls start at a fixed rate (released each millisecond, as many as are due) whether or not
    /// earlier ones have been answered; returns the calls that ended in the measured window and its length.
    /// </summary>
    private async Task<(List<Sample> Samples, double Seconds)> OpenLoopAsync(int rate, TimeSpan warmup, TimeSpan duration, Func<Grpc.Net.Client.GrpcChannel, Task> call)
    {
        using var channel = BenchMesh.Channel(mesh.GatewayGrpc);
        var samples = new ConcurrentQueue<Sample>();
        var start = Stopwatch.GetTimestamp();
        var measureStart = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var measureEnd = measureStart + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var interval = Stopwatch.Frequency / (double)rate;
        var pending = new List<Task>();
        long sent = 0;

        async Task One()
        {
            var begin = Stopwatch.GetTimestamp();
            var status = StatusCode.OK;
            try
            {
                await call(channel);
            }
            catch (RpcException ex)
            {
                status = ex.StatusCode;
            }
            samples.Enqueue(new Sample(begin, Stopwatch.GetTimestamp(), status));
        }

        while (true)
        {
            var now = Stopwatch.GetTimestamp();
            if (now >= measureEnd) break;
            for (; start + sent * interval <= now; sent++) pending.Add(One());
            await Task.Delay(1);
        }
        await Task.WhenAll(pending);
        return (samples.Where(s => s.End >= measureStart && s.End <= measureEnd).ToList(), (measureEnd - measureStart) / (double)Stopwatch.Frequency);
    }

    private static Stats Pool(List<LoadResult> runs) =>
        Stats.From(runs.SelectMany(r => r.Samples), runs.Sum(r => (r.MeasureEnd - r.MeasureStart) / (double)Stopwatch.Frequency));

    // Shadow copies by outcome so far; null when the metrics cannot be read.
    private async Task<Dictionary<string, double>?> ShadowCountsAsync(string model)
    {
        try
        {
            return ShadowLine().Matches(await mesh.GatewayMetricsAsync())
                .Where(m => m.Groups["model"].Value == model)
                .ToDictionary(m => m.Groups["outcome"].Value, m => double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture));
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static string Delta(Dictionary<string, double> before, Dictionary<string, double> after)
    {
        var parts = after.Select(kv => (kv.Key, N: kv.Value - before.GetValueOrDefault(kv.Key))).Where(x => x.N > 0)
            .Select(x => $"{x.Key} {x.N:#,0}").ToList();
        return parts.Count > 0 ? string.Join(", ", parts) : "none";
    }

    private static string RetryCounts(string metrics)
    {
        var retries = RetryLine().Matches(metrics)
            .Select(m => $"{m.Groups["reason"].Value} {double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture):#,0}")
            .ToList();
        return retries.Count > 0 ? string.Join(", ", retries) : "none";
    }

    [GeneratedRegex("""maas_gateway_shadow_requests_total\{model="(?<model>[^"]*)",version="2",outcome="(?<outcome>[^"]*)"\} (?<n>[0-9.e+]+)""")]
    private static partial Regex ShadowLine();

    [GeneratedRegex("""maas_gateway_retries_total\{reason="(?<reason>[^"]*)"\} (?<n>[0-9.e+]+)""")]
    private static partial Regex RetryLine();

    private static string Points(double value) => double.IsNaN(value) ? "–" : value.ToString("0.00", CultureInfo.InvariantCulture);

    private void NotRun(string scenario, string why)
    {
        measured.NotRun[scenario] = why;
        report.Note($"**Not run:** {why}");
        progress.WriteLine($"{scenario}: not run: {why}");
    }
}
