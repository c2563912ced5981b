using MaaS.Testing.Mesh;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using Inference;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using MaaS.UpdaterBenchmarks.Hosting;
using MaaS.Updater.V1;
using Onnx;

namespace MaaS.UpdaterBenchmarks.Scenarios;

/// <summary>One line of a step-by-step table: what happened, seconds after the scenario's zero, and who saw it.</summary>
public sealed record StepTime(string Step, double Seconds, string Source);

/// <summary>
/// What the scenarios do through the gateway: train the first version, set a policy, ingest rows, read the
/// timeline, register a broken version, and keep a caller sending inference traffic by model name.
/// </summary>
/// <param name="mesh">The mesh.</param>
/// <param name="progress">Where progress lines go.</param>
/// <param name="model">The model this client trains and updates.</param>
/// <param name="epochs">Epochs of version 1's spec, which every retraining reuses (more epochs = a longer retraining).</param>
public sealed partial class LoopClient(UpdaterMesh mesh, TextWriter progress, string model, int epochs)
{
    /// <summary>The model this client updates.</summary>
    public string Model => model;

    /// <summary>The demo rollout settings (the walkthrough's): 50 % then 100 %, each held 1 s, rolled back past +5 points of error rate.</summary>
    public static RolloutPlan DemoPlan() => new() { CanarySteps = { 50, 100 }, BakeSeconds = 1, AutoAdvance = true, MaxErrorRateIncrease = 0.05 };

    /// <summary>Registry through the gateway.</summary>
    public RegistryService.RegistryServiceClient Registry { get; } = new(mesh.Gateway);

    /// <summary>Trainer through the gateway.</summary>
    public TrainerService.TrainerServiceClient Trainer { get; } = new(mesh.Gateway);

    /// <summary>Updater through the gateway.</summary>
    public UpdaterService.UpdaterServiceClient Updater { get; } = new(mesh.Gateway);

    /// <summary>Inference through the gateway.</summary>
    public GRPCInferenceService.GRPCInferenceServiceClient Inference { get; } = new(mesh.Gateway);

    /// <summary>The mesh.</summary>
    public UpdaterMesh Mesh => mesh;

    /// <summary>Production version of the model, 0 when none is set yet.</summary>
    public async Task<long> ProductionAsync()
    {
        try
        {
            return (await Registry.GetModelAsync(new GetModelRequest { Name = Model })).Model.Aliases.GetValueOrDefault("production");
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return 0;
        }
    }

    /// <summary>Version 1 (y = 2x + 1 on x in [0, 5)) trained, made production and answering by model name; returns it.</summary>
    public async Task<long> EnsureFirstVersionAsync()
    {
        if (await ProductionAsync() is > 0 and var existing) return existing;
        var csv = new StringBuilder("x,y\n");
        for (var i = 0; i < 50; i++) csv.Append(CultureInfo.InvariantCulture, $"{i / 10.0:R},{2 * (i / 10.0) + 1:R}\n");
        var bytes = Encoding.UTF8.GetBytes(csv.ToString());
        using (var upload = Registry.UploadDataset())
        {
            await upload.RequestStream.WriteAsync(new UploadDatasetRequest { Manifest = new DatasetManifest { Name = Model + "-data", Format = "csv" } });
            await upload.RequestStream.WriteAsync(new UploadDatasetRequest { Chunk = ByteString.CopyFrom(bytes) });
            await upload.RequestStream.CompleteAsync();
            await upload;
        }
        var last = await MeshCalls.TrainLinearAsync(Trainer, Model, Model + "-data", 0, epochs);
        await Registry.SetAliasAsync(new SetAliasRequest { ModelName = Model, Alias = "production", Version = last.RegisteredVersion, Actor = "bench", Reason = "first deployment" });
        await WaitAnswersAsync(last.RegisteredVersion);
        progress.WriteLine($"version {last.RegisteredVersion} is production and answers");
        return last.RegisteredVersion;
    }

    /// <summary>Sets the policy: retrain after 100 rows, gate on MSE, train on the 80 newest rows, roll out with the demo plan.</summary>
    public Task SetPolicyAsync() => Updater.SetPolicyAsync(new SetPolicyRequest
    {
        Policy = new Policy
        {
            ModelName = Model, RetrainAfterRows = 100, HoldoutFraction = 0.2, GateMetric = "mse", TrainingWindowRows = 80, Rollout = DemoPlan(),
        },
    }).ResponseAsync;

    /// <summary>100 rows of y = slope·x + 1 + small noise, x in [0, 5).</summary>
    public IngestRowsRequest Rows(double slope, int seed)
    {
        var random = new Random(seed);
        var request = new IngestRowsRequest { ModelName = Model, Columns = { "x", "y" } };
        for (var i = 0; i < 100; i++)
        {
            var x = random.NextDouble() * 5;
            request.Rows.Add(new Row { Values = { x, slope * x + 1 + (random.NextDouble() - 0.5) * 0.1 } });
        }
        return request;
    }

    /// <summary>A call of <paramref name="rows"/> rows near <paramref name="x"/>, by model name (or a pinned version).</summary>
    public ModelInferRequest Infer(float x, int rows = 1, string version = "")
    {
        var contents = new InferTensorContents();
        for (var r = 0; r < rows; r++) contents.Fp32Contents.Add(x + r * 0.1f);
        return new ModelInferRequest
        {
            ModelName = Model, ModelVersion = version,
            Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { rows, 1 }, Contents = contents } },
        };
    }

    /// <summary>Waits until a call by model name (or pinned to <paramref name="pinned"/>) answers from <paramref name="version"/>.</summary>
    public async Task WaitAnswersAsync(long version, bool pinned = false)
    {
        var deadline = Stopwatch.StartNew();
        var text = version.ToString(CultureInfo.InvariantCulture);
        while (true)
        {
            try
            {
                if ((await Inference.ModelInferAsync(Infer(1, 1, pinned ? text : ""))).ModelVersion == text) return;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unavailable)
            {
                // Not loaded or not routed yet.
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(120)) throw new HarnessException($"version {version} did not answer within 120 s.\n{mesh.Tail("inference")}");
            await Task.Delay(100);
        }
    }

    /// <summary>The model's timeline entries at or after <paramref name="since"/>.</summary>
    public async Task<List<TimelineEntry>> TimelineAsync(DateTimeOffset since) =>
        (await Updater.ExplainModelAsync(new ExplainModelRequest { ModelName = Model, Since = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(since) }))
        .Entries.ToList();

    /// <summary>Polls GetRollout until the rollout of <paramref name="version"/> has ended; throws after <paramref name="limit"/>.</summary>
    public async Task<MaaS.Updater.V1.Rollout> WaitRolloutEndAsync(long version, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            try
            {
                var rollout = (await Updater.GetRolloutAsync(new GetRolloutRequest { ModelName = Model })).Rollout;
                if (rollout.ChallengerVersion == version && rollout.State is "completed" or "rolled_back" or "aborted") return rollout;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unavailable)
            {
                // Not started yet, or the updater's bus is reconnecting.
            }
            await Task.Delay(100);
        }
        throw new HarnessException($"the rollout of version {version} did not end within {limit.TotalSeconds:0} s.\n--- updater ---\n{mesh.Tail("updater")}");
    }

    /// <summary>Polls the update status until the gate decision number <paramref name="count"/> exists; throws after <paramref name="limit"/>.</summary>
    public async Task<Decision> WaitDecisionAsync(int count, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            try
            {
                var status = await Updater.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = Model });
                if (status.Decisions.Count >= count) return status.Decisions[count - 1];
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                // Reconnecting.
            }
            await Task.Delay(100);
        }
        throw new HarnessException($"gate decision {count} did not come within {limit.TotalSeconds:0} s.\n--- updater ---\n{mesh.Tail("updater")}\n--- trainer ---\n{mesh.Tail("trainer")}");
    }

    /// <summary>
    /// The timeline since <paramref name="zero"/> as steps: retraining triggered, training states, trained, gate,
    /// rollout steps, completion or rollback, alias moves (the updater's clock; same machine as the client's).
    /// </summary>
    public static List<StepTime> Steps(IEnumerable<TimelineEntry> entries, DateTimeOffset zero)
    {
        var steps = new List<StepTime>();
        foreach (var e in entries)
        {
            var at = (e.At.ToDateTimeOffset() - zero).TotalSeconds;
            var step = e.Kind switch
            {
                "retrain_triggered" => $"RetrainTriggered (rule {e.Details.GetValueOrDefault("rule")})",
                "training" when e.Details.GetValueOrDefault("state") == "Registered" => $"trained: version {e.Details.GetValueOrDefault("version")} registered",
                "training" => $"training {e.Details.GetValueOrDefault("state")?.ToLowerInvariant()}",
                "gate" => $"gate {(e.Details.GetValueOrDefault("promoted") == "true" ? "passed" : "failed")}: {e.Details.GetValueOrDefault("metric")} {e.Details.GetValueOrDefault("challenger_score")} vs champion {e.Details.GetValueOrDefault("champion_score")}",
                "rollout_step" => $"rollout step: {e.Details.GetValueOrDefault("challenger_percent")} % to version {e.Details.GetValueOrDefault("challenger_version")}",
                "rollout_completed" => $"RolloutCompleted: version {e.Details.GetValueOrDefault("challenger_version")} takes 100 % and production",
                "rolled_back" => $"RolledBack: {e.Details.GetValueOrDefault("reason")}",
                "alias_moved" => $"alias {e.Details.GetValueOrDefault("alias")} moved {e.Details.GetValueOrDefault("from_version")} → {e.Details.GetValueOrDefault("to_version")}",
                _ => null,
            };
            if (step is not null) steps.Add(new StepTime(step, at, "timeline"));
        }
        return steps;
    }

    /// <summary>Registers a broken version shaped like <paramref name="like"/> (see MeshCalls.RegisterBrokenAsync).</summary>
    public Task<long> RegisterBrokenAsync(long like) => MeshCalls.RegisterBrokenAsync(Registry, Model, like, "bench-broken");

    /// <summary>The version a failed call names in its message (the replica says "version N failed while running"), or "?".</summary>
    public static string VersionOf(RpcException ex) => VersionInMessage().Match(ex.Status.Detail) is { Success: true } m ? m.Groups[1].Value : "?";

    [GeneratedRegex(@"version (\d+)")]
    private static partial Regex VersionInMessage();
}

/// <summary>
/// Keeps sending calls by model name alone (one every few milliseconds) until stopped; counts answers and failures
/// per version, and remembers when each version first and last answered (seconds on the given clock).
/// </summary>
public sealed class TrafficCaller(LoopClient client, Stopwatch clock, int rows)
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;

    /// <summary>Answers per version.</summary>
    public ConcurrentDictionary<string, int> Answered { get; } = new();

    /// <summary>Failures per version (from the message; "?" when it names none).</summary>
    public ConcurrentDictionary<string, int> Failed { get; } = new();

    /// <summary>First and last answer per version, seconds on the clock.</summary>
    public ConcurrentDictionary<string, (double First, double Last)> Seen { get; } = new();

    /// <summary>Seconds of the first failure, if any.</summary>
    public double? FirstFailure { get; private set; }

    /// <summary>A few failure messages, for the report.</summary>
    public ConcurrentQueue<string> Examples { get; } = new();

    /// <summary>Starts sending.</summary>
    public void Start() => _run = Task.Run(RunAsync);

    /// <summary>Stops and waits for the last call.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_run is not null) await _run;
    }

    private async Task RunAsync()
    {
        var random = new Random(11);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var version = (await client.Inference.ModelInferAsync(client.Infer((float)(random.NextDouble() * 4), rows))).ModelVersion;
                Answered.AddOrUpdate(version, 1, (_, n) => n + 1);
                var now = clock.Elapsed.TotalSeconds;
                Seen.AddOrUpdate(version, (now, now), (_, s) => (s.First, now));
            }
            catch (RpcException ex)
            {
                Failed.AddOrUpdate(LoopClient.VersionOf(ex), 1, (_, n) => n + 1);
                FirstFailure ??= clock.Elapsed.TotalSeconds;
                if (Examples.Count < 3) Examples.Enqueue($"{ex.StatusCode}: {ex.Status.Detail}");
            }
            try
            {
                await Task.Delay(10, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }
    }

    /// <summary>"v2 120 ok / 0 failed, …" for the report.</summary>
    public string Summary() => string.Join(", ", Answered.Keys.Union(Failed.Keys).Order(StringComparer.Ordinal)
        .Select(v => $"v{v}: {Answered.GetValueOrDefault(v)} answered, {Failed.GetValueOrDefault(v)} failed"));
}
