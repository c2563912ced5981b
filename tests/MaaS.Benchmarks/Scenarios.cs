using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Inference;
using MaaS.Benchmarks.Hosting;
using MaaS.Benchmarks.Load;
using MaaS.Benchmarks.Models;
using MaaS.Benchmarks.Reporting;
using MaaS.Diagnostics.V1;

namespace MaaS.Benchmarks;

/// <summary>The six scenarios; each writes its section of the report and what the targets need into <see cref="Measured"/>.</summary>
public sealed class Scenarios(BenchmarkOptions options, BenchMesh mesh, MarkdownReport report, Measured measured, TextWriter progress)
{
    private const string Seed = "seed";
    private const float SeedX = 3f;
    private string? _seedError;
    private bool _seedLoaded;

    private TimeSpan Warmup => TimeSpan.FromSeconds(options.WarmupSeconds);
    private TimeSpan Duration => TimeSpan.FromSeconds(options.Seconds);

    /// <summary>(a) The seed model, direct to the replica, at every concurrency level.</summary>
    public async Task DirectAsync()
    {
        report.Section("a. Seed model, direct to the replica",
            "ModelInfer on the seed model (linear, 1 feature, y = 2x + 1), one row of FP32 in raw_input_contents, empty version, straight to the replica's gRPC port.");
        if (!await EnsureSeedAsync("a")) return;
        var request = BenchModels.Infer(Seed, "", 1, 1, _ => SeedX);
        await SweepAsync(mesh.ReplicaGrpc, measured.Direct, channel => new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(request).ResponseAsync,
            [mesh.Replica], measured.DirectReplicaCpu);
    }

    /// <summary>(b) The same through the gateway.</summary>
    public async Task GatewayAsync()
    {
        report.Section("b. Seed model through the gateway",
            "The same requests sent to the gateway's gRPC port with an API key (`authorization: Bearer`, checked on every call); the gateway resolves the empty version to the newest one ready and forwards to the replica.");
        if (!await EnsureSeedAsync("b")) return;
        // The gateway learns what the replica serves by polling its RepositoryIndex.
        var gateway = new GRPCInferenceService.GRPCInferenceServiceClient(mesh.GatewayChannel!);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var last = "not ready";
        while (true)
        {
            try
            {
                if ((await gateway.ModelReadyAsync(new ModelReadyRequest { Name = Seed }, mesh.GatewayKeyHeaders)).Ready) break;
            }
            catch (RpcException ex)
            {
                last = $"{ex.StatusCode}: {ex.Status.Detail}";
            }
            if (DateTime.UtcNow > deadline)
            {
                NotRun("b", $"the gateway did not see '{Seed}' ready within 20 s ({last})");
                return;
            }
            await Task.Delay(100);
        }
        var request = BenchModels.Infer(Seed, "", 1, 1, _ => SeedX);
        var keyHeaders = mesh.GatewayKeyHeaders;
        await SweepAsync(mesh.GatewayGrpc, measured.ThroughGateway, channel => new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(request, keyHeaders).ResponseAsync,
            [mesh.Gateway!, mesh.Replica], measured.GatewayCpu);
    }

    /// <summary>(c) The empty call with the inference request's size: the transport's own ceiling.</summary>
    public async Task EmptyCallAsync()
    {
        var size = BenchModels.Infer(Seed, "", 1, 1, _ => SeedX).CalculateSize();
        report.Section("c. Empty call on the replica (transport ceiling)",
            $"maas.diagnostics.v1.DiagnosticsService/Ping on the replica's gRPC port with a {size}-byte payload, the size of scenario a's request: the same server stack (Kestrel, HTTP/2, gRPC, interceptors) without the model.");
        var ping = new PingRequest { Payload = ByteString.CopyFrom(new byte[size]) };
        try
        {
            await new DiagnosticsService.DiagnosticsServiceClient(mesh.ReplicaChannel).PingAsync(ping);
        }
        catch (RpcException ex)
        {
            NotRun("c", $"Ping failed ({ex.StatusCode}: {ex.Status.Detail}); a replica built before maas.diagnostics.v1 existed does not serve it");
            return;
        }
        await SweepAsync(mesh.ReplicaGrpc, measured.EmptyCall, channel => new DiagnosticsService.DiagnosticsServiceClient(channel).PingAsync(ping).ResponseAsync);
    }

    /// <summary>(d) A compute-heavy MLP at concurrency 64, without and with dynamic batching.</summary>
    public async Task BatchingAsync()
    {
        report.Section("d. Compute-heavy MLP at concurrency 64, without and with dynamic batching",
            $"An MLP 256 → 1024 (relu) → 1024 (relu) → 1 ({MlpParametersText()} parameters) from our dense exporter, loaded twice: `mlp` with `{BenchModels.UnbatchedConfig}` and `mlp-batched` with `{BenchModels.BatchedConfig}`. One row per request.");
        var onnx = BenchModels.Mlp();
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(mesh.ReplicaChannel);
        try
        {
            await client.RepositoryModelLoadAsync(BenchModels.Load("mlp", 1, onnx, BenchModels.UnbatchedConfig));
            await client.RepositoryModelLoadAsync(BenchModels.Load("mlp-batched", 1, onnx, BenchModels.BatchedConfig));
        }
        catch (RpcException ex)
        {
            NotRun("d", $"RepositoryModelLoad with file and config was refused ({ex.StatusCode}: {ex.Status.Detail})");
            return;
        }

        var x = new Random(7);
        var values = Enumerable.Range(0, BenchModels.MlpInputs).Select(_ => (float)x.NextDouble()).ToArray();
        var plain = BenchModels.Infer("mlp", "", 1, BenchModels.MlpInputs, i => values[i]);
        var batched = BenchModels.Infer("mlp-batched", "", 1, BenchModels.MlpInputs, i => values[i]);
        try
        {
            var a = BenchModels.FirstOutput(await client.ModelInferAsync(plain));
            var b = BenchModels.FirstOutput(await client.ModelInferAsync(batched));
            if (Math.Abs(a - b) > 1e-4 * Math.Max(1, Math.Abs(a)))
            {
                report.Note($"Warning: the two loads answer differently for the same row ({a} vs {b}).");
            }
        }
        catch (RpcException ex)
        {
            NotRun("d", $"ModelInfer on the MLP failed ({ex.StatusCode}: {ex.Status.Detail})");
            return;
        }

        report.TableHeader(["model (concurrency 64)", .. MarkdownReport.LoadColumns[1..], "rows per run"]);
        var errors = new List<string>();
        foreach (var (label, request, isBatched) in new[] { ("`mlp`, no batching", plain, false), ("`mlp-batched`, dynamic batching", batched, true) })
        {
            progress.WriteLine($"d: {label} at 64");
            await PrewarmAsync(mesh.ReplicaGrpc, channel => new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(request).ResponseAsync);
            var countsBefore = await CountsAsync(client, request.ModelName);
            var result = await LoadRunner.RunAsync(mesh.ReplicaGrpc, 64, options.CallersPerChannel, Warmup, Duration,
                channel => new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(request).ResponseAsync);
            var countsAfter = await CountsAsync(client, request.ModelName);
            var stats = result.Overall;
            // The replica's own statistics say how many rows each ONNX Runtime run took: the batching actually done.
            var rowsPerRun = countsBefore is { } b0 && countsAfter is { } b1 && b1.Executions > b0.Executions
                ? ((b1.Inferences - b0.Inferences) / (double)(b1.Executions - b0.Executions)).ToString("0.0", CultureInfo.InvariantCulture)
                : "–";
            report.Row(label, MarkdownReport.Rate(stats.Throughput), MarkdownReport.Ms(stats.P50), MarkdownReport.Ms(stats.P90),
                MarkdownReport.Ms(stats.P99), stats.Errors.ToString(CultureInfo.InvariantCulture), rowsPerRun);
            if (isBatched) measured.MlpBatched = stats;
            else measured.MlpUnbatched = stats;
            if (result.FirstError is not null) errors.Add($"{label}: {result.FirstError}");
        }
        ErrorNotes(errors);
    }

    /// <summary>(e) Version swaps under steady load at concurrency 16.</summary>
    public async Task SwapAsync()
    {
        const int concurrency = 16, swaps = 3;
        report.Section("e. Version swap under steady load (concurrency 16)",
            $"Model `swap` (linear, v1: y = 2x + 1) takes requests with an empty version at concurrency 16. First a steady run; then a run during which it is loaded {swaps} times with a new version in Triton's form (RepositoryModelLoad with `file:<v>/model.onnx`, v = 2…{swaps + 1}, y = (v+1)x + 1), one second apart. " +
            "The swap window of each load is from the load call to 0.5 s after it returned; its row counts the calls that ended inside the windows. Errors count every failed call of the whole run.");
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(mesh.ReplicaChannel);
        try
        {
            await client.RepositoryModelLoadAsync(BenchModels.Load("swap", 1, BenchModels.Linear(2, 1), BenchModels.UnbatchedConfig));
        }
        catch (RpcException ex)
        {
            NotRun("e", $"RepositoryModelLoad with file and config was refused ({ex.StatusCode}: {ex.Status.Detail})");
            return;
        }

        var request = BenchModels.Infer("swap", "", 1, 1, _ => SeedX);
        var versions = new ConcurrentDictionary<string, int>();
        var wrong = 0;
        async Task Call(Grpc.Net.Client.GrpcChannel channel)
        {
            var response = await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(request);
            versions.AddOrUpdate(response.ModelVersion, 1, (_, n) => n + 1);
            // Version v answers (v+1)·3 + 1: a value from another version means the answer and its label disagree.
            if (long.TryParse(response.ModelVersion, CultureInfo.InvariantCulture, out var v) && BenchModels.FirstOutput(response) != (v + 1) * SeedX + 1)
            {
                Interlocked.Increment(ref wrong);
            }
        }

        report.TableHeader(["phase (concurrency 16)", .. MarkdownReport.LoadColumns[1..]]);
        progress.WriteLine("e: steady");
        await PrewarmAsync(mesh.ReplicaGrpc, Call);
        var steady = await LoadRunner.RunAsync(mesh.ReplicaGrpc, concurrency, options.CallersPerChannel, Warmup, Duration, Call);
        var steadyStats = steady.Overall;
        report.LoadRow("steady", steadyStats);

        progress.WriteLine("e: swapping");
        var windows = new List<(long Start, long End)>();
        var loadTimes = new List<double>();
        string? loadError = null;
        var swapping = await LoadRunner.RunAsync(mesh.ReplicaGrpc, concurrency, options.CallersPerChannel, Warmup, TimeSpan.FromSeconds(1), Call, async () =>
        {
            for (var v = 2; v <= swaps + 1; v++)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await client.RepositoryModelLoadAsync(BenchModels.Load("swap", v, BenchModels.Linear(v + 1, 1), BenchModels.UnbatchedConfig));
                }
                catch (RpcException ex)
                {
                    loadError ??= $"load of v{v}: {ex.StatusCode}: {ex.Status.Detail}";
                }
                var end = Stopwatch.GetTimestamp();
                loadTimes.Add((end - start) * 1000.0 / Stopwatch.Frequency);
                windows.Add((start, end + Stopwatch.Frequency / 2));
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        });
        var inWindows = swapping.Samples.Where(s => windows.Any(w => s.End >= w.Start && s.End <= w.End)).ToList();
        var windowSeconds = windows.Sum(w => (w.End - w.Start) / (double)Stopwatch.Frequency);
        var windowStats = Stats.From(inWindows, windowSeconds);
        var whole = swapping.Overall;
        report.LoadRow("whole run with swaps", whole);
        report.LoadRow($"inside the {windows.Count} swap windows", windowStats);

        measured.SwapSteady = steadyStats;
        measured.SwapWindow = windowStats;
        measured.SwapFailures = whole.Errors + steadyStats.Errors;
        report.Note($"Loads took {string.Join(", ", loadTimes.Select(t => MarkdownReport.Ms(t) + " ms"))}. Answers by version: " +
            string.Join(", ", versions.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"v{kv.Key}: {kv.Value:#,0}")) +
            $". Answers whose value did not match their version: {wrong}.");
        if (loadError is not null) report.Note($"A load failed: {loadError}.");
        ErrorNotes([.. new[] { steady.FirstError, swapping.FirstError }.OfType<string>()]);
    }

    /// <summary>(f) Load/unload cycles of a small model on a fresh replica, reading its resident memory.</summary>
    public async Task CyclesAsync()
    {
        var cycles = options.Cycles;
        report.Section($"f. {cycles:#,0} load/unload cycles of a small model",
            "On a fresh replica: 20 warm-up cycles, then a settle (2 s of small Ping calls at concurrency 4 so the garbage collector runs, then 2 s quiet) and VmRSS from /proc/<pid>/status; then the cycles (RepositoryModelLoad in Triton's form, one ModelInfer, RepositoryModelUnload); VmRSS right after them, and again after the same settle. Growth compares the two settled readings.");
        await using var fresh = await BenchMesh.StartAsync(options, withGateway: false, progress, portOffset: 5, build: false, name: "replica-f");
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(fresh.ReplicaChannel);
        var onnx = BenchModels.Linear(2, 1);
        var infer = BenchModels.Infer("cycle", "", 1, 1, _ => SeedX);
        var failures = 0;
        string? firstFailure = null;

        async Task Cycle(bool withInfer)
        {
            try
            {
                await client.RepositoryModelLoadAsync(BenchModels.Load("cycle", 1, onnx, BenchModels.UnbatchedConfig));
                if (withInfer) await client.ModelInferAsync(infer);
                await client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "cycle" });
            }
            catch (RpcException ex)
            {
                failures++;
                firstFailure ??= $"{ex.StatusCode}: {ex.Status.Detail}";
            }
        }

        // Before and after are read in the same state: after the same settle (calls that make the
        // garbage collector run, then quiet), so that only what the cycles kept remains as growth.
        var ping = new PingRequest { Payload = ByteString.CopyFrom(new byte[BenchModels.Infer(Seed, "", 1, 1, _ => SeedX).CalculateSize()]) };
        async Task<long> SettledRss()
        {
            await LoadRunner.RunAsync(fresh.ReplicaGrpc, 4, options.CallersPerChannel, TimeSpan.Zero, TimeSpan.FromSeconds(2),
                channel => new DiagnosticsService.DiagnosticsServiceClient(channel).PingAsync(ping).ResponseAsync);
            await Task.Delay(2000);
            return fresh.Replica.ResidentBytes();
        }

        for (var i = 0; i < 20; i++) await Cycle(withInfer: true);
        if (failures == 20)
        {
            NotRun("f", $"every warm-up cycle failed ({firstFailure})");
            return;
        }
        failures = 0;
        var before = await SettledRss();
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < cycles; i++)
        {
            await Cycle(withInfer: true);
            if ((i + 1) % 100 == 0) progress.WriteLine($"f: {i + 1} cycles, VmRSS {MarkdownReport.MiB(fresh.Replica.ResidentBytes())}");
        }
        var seconds = (Stopwatch.GetTimestamp() - started) / (double)Stopwatch.Frequency;
        var after = fresh.Replica.ResidentBytes();

        var settled = await SettledRss();

        report.TableHeader("cycles", "failed cycles", "cycles/s", "VmRSS before (settled)", "VmRSS right after", "VmRSS after (settled)", "growth");
        report.Row(cycles.ToString("#,0", CultureInfo.InvariantCulture), failures.ToString(CultureInfo.InvariantCulture),
            MarkdownReport.Rate(cycles / seconds), MarkdownReport.MiB(before), MarkdownReport.MiB(after), MarkdownReport.MiB(settled),
            MarkdownReport.Pct((settled - before) / (double)before));
        if (firstFailure is not null) report.Note($"First failure: {firstFailure}.");
        measured.Rss = (before, settled);
        measured.Cycles = cycles;
        fresh.Succeeded = true;
    }

    private async Task SweepAsync(string address, Dictionary<int, Stats> into, Func<Grpc.Net.Client.GrpcChannel, Task> call,
        IReadOnlyList<ServiceProcess>? cpuOf = null, Dictionary<int, double>? cpuInto = null)
    {
        await PrewarmAsync(address, call);
        report.TableHeader(MarkdownReport.LoadColumns);
        var errors = new List<string>();
        var cpuNotes = new List<string>();
        foreach (var c in options.Concurrency)
        {
            progress.WriteLine($"  concurrency {c}");
            var processes = cpuOf ?? [];
            var cpu = new double[processes.Count];
            var system = new double[processes.Count];
            // CPU is read over the measured window only (the callback starts when it opens).
            var result = await LoadRunner.RunAsync(address, c, options.CallersPerChannel, Warmup, Duration, call, processes.Count == 0 ? null : async () =>
            {
                var before = processes.Select(p => CpuMeter.UserAndSystem(p.Pid)).ToArray();
                await Task.Delay(Duration);
                for (var i = 0; i < cpu.Length; i++)
                {
                    var after = CpuMeter.UserAndSystem(processes[i].Pid);
                    cpu[i] = after.User + after.System - before[i].User - before[i].System;
                    system[i] = after.System - before[i].System;
                }
            });
            var stats = result.Overall;
            report.LoadRow(c.ToString(CultureInfo.InvariantCulture), stats);
            into[c] = stats;
            if (processes.Count > 0)
            {
                var perCall = cpu.Select(s => CpuMeter.MicrosPerCall(s, stats.Ok)).ToArray();
                if (cpuInto is not null) cpuInto[c] = perCall[0];
                cpuNotes.Add($"{c}: " + string.Join(", ", processes.Select((p, i) =>
                    $"{p.Name} {MicrosText(perCall[i])} ({MarkdownReport.Pct(cpu[i] > 0 ? system[i] / cpu[i] : double.NaN)} system)")));
            }
            if (result.FirstError is not null) errors.Add($"concurrency {c}: {result.FirstError}");
        }
        if (cpuNotes.Count > 0)
        {
            report.Note("CPU time per successful call (µs, user + system from /proc, over the measured window), by concurrency — " + string.Join("; ", cpuNotes) + ".");
        }
        ErrorNotes(errors);
    }

    private static string MicrosText(double micros) => double.IsNaN(micros) ? "–" : micros.ToString("0.0", CultureInfo.InvariantCulture);

    // Inference and execution counts of a model (all versions) from ModelStatistics; null when not served.
    private static async Task<(ulong Inferences, ulong Executions)?> CountsAsync(GRPCInferenceService.GRPCInferenceServiceClient client, string model)
    {
        try
        {
            var response = await client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = model });
            return (response.ModelStats.Aggregate(0UL, (n, m) => n + m.InferenceCount), response.ModelStats.Aggregate(0UL, (n, m) => n + m.ExecutionCount));
        }
        catch (RpcException)
        {
            return null;
        }
    }

    // Unmeasured traffic so that the server's JIT has settled on its optimized code before the first cell.
    private async Task PrewarmAsync(string address, Func<Grpc.Net.Client.GrpcChannel, Task> call)
    {
        if (options.PrewarmSeconds <= 0) return;
        await LoadRunner.RunAsync(address, 4, options.CallersPerChannel, TimeSpan.FromSeconds(options.PrewarmSeconds), TimeSpan.Zero, call);
    }

    // Loads the seed model once for a, b; a refusal is reported in every section that needs it.
    private async Task<bool> EnsureSeedAsync(string scenario)
    {
        if (!_seedLoaded && _seedError is null)
        {
            var client = new GRPCInferenceService.GRPCInferenceServiceClient(mesh.ReplicaChannel);
            try
            {
                await client.RepositoryModelLoadAsync(BenchModels.Load(Seed, 1, BenchModels.Linear(2, 1), BenchModels.UnbatchedConfig));
                var y = BenchModels.FirstOutput(await client.ModelInferAsync(BenchModels.Infer(Seed, "", 1, 1, _ => SeedX)));
                if (y != 2 * SeedX + 1) report.Note($"Warning: the seed model answered {y} for x = {SeedX}; expected {2 * SeedX + 1}.");
                _seedLoaded = true;
            }
            catch (RpcException ex)
            {
                _seedError = $"loading the seed model with RepositoryModelLoad (file + config) failed: {ex.StatusCode}: {ex.Status.Detail}";
            }
        }
        if (_seedError is not null) NotRun(scenario, _seedError);
        return _seedLoaded;
    }

    private void NotRun(string scenario, string why)
    {
        measured.NotRun[scenario] = why;
        report.Note($"**Not run:** {why}");
        progress.WriteLine($"{scenario}: not run: {why}");
    }

    private void ErrorNotes(List<string> errors)
    {
        if (errors.Count > 0) report.Note("First error seen: " + string.Join("; ", errors) + ".");
    }

    private static string MlpParametersText() => BenchModels.MlpParameters.ToString("#,0", CultureInfo.InvariantCulture);
}
