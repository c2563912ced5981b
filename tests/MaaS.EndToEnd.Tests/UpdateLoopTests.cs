using MaaS.Testing.Mesh;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using Inference;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using MaaS.Updater.V1;
using Onnx;
using V1Rollout = MaaS.Updater.V1.Rollout;

namespace MaaS.EndToEnd.Tests;

/// <summary>
/// Issue 7's update loop over the real broker and real processes, as one story on one model: a successful
/// canary under live traffic, a failed gate, a drift-triggered retraining, an automatic rollback of a broken
/// challenger, and the timeline that explains all of it. One fact, because each step starts from the
/// state the one before left (production version, policy, timeline).
/// </summary>
public sealed partial class UpdateLoopTests(UpdateLoopMesh mesh) : IClassFixture<UpdateLoopMesh>
{
    private const string Model = "loop-line";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task UpdateLoop_CanaryFailedGateDriftAndRollback_EachVisibleAndExplained()
    {
        using var channel = mesh.OpenGatewayChannel();
        var invoker = mesh.WithAdminKey(channel);
        var registry = new RegistryService.RegistryServiceClient(invoker);
        var trainer = new TrainerService.TrainerServiceClient(invoker);
        var updater = new UpdaterService.UpdaterServiceClient(invoker);
        var inference = new GRPCInferenceService.GRPCInferenceServiceClient(invoker);

        // Version 1: y = 2x + 1 on x in [0, 5), production, answering by model name alone.
        var dataset = await mesh.UploadLineDatasetAsync("loop-line-data", Enumerable.Range(0, 50).Select(i => (i / 10.0, 2 * (i / 10.0) + 1)));
        var v1 = (await MeshCalls.TrainLinearAsync(trainer, Model, dataset.Name, dataset.Version, epochs: 300)).RegisteredVersion;
        await registry.SetAliasAsync(new SetAliasRequest { ModelName = Model, Alias = "production", Version = v1, Actor = "e2e", Reason = "first deployment" });
        // Twenty answers in a row: both replicas serve version 1 before the background caller starts counting.
        await WaitUntilAsync(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                if ((await inference.ModelInferAsync(Infer("", 2))).ModelVersion != Show(v1)) return false;
            }
            return true;
        }, "version 1 answers by model name");

        // 1. Successful canary: 100 rows of y = 3x + 1 cross the row rule; the challenger passes the gate and takes
        //    50 % then 100 % of the traffic a background caller keeps sending; that caller sees no failed call.
        await updater.SetPolicyAsync(new SetPolicyRequest { Policy = PolicyWith(minImprovement: 0, rows: 100) });
        var background = new BackgroundCaller(inference);
        var backgroundRun = background.RunAsync();
        var ingest = (await updater.IngestRowsAsync(Rows(100, slope: 3, seed: 1))).Report;
        // The batch crosses the rows rule: its own report says it started the retraining (the trigger loop, ticking
        // every 250 ms here, waits while a batch is stored and evaluated).
        Assert.Equal(100, ingest.RowsKept);
        Assert.True(ingest.RetrainTriggered, ingest.TriggerReason);
        var first = await WaitForDecisionAsync(updater, 1);
        Assert.True(first.Promoted, first.Reason);
        var canary = await WaitForRolloutEndAsync(updater, first.ChallengerVersion);
        Assert.True(canary.State == "completed", $"{canary.State}: {canary.Reason}\n{mesh.Log("updater")}");
        var v2 = first.ChallengerVersion;
        await WaitUntilAsync(async () => (await inference.ModelInferAsync(Infer("", 2))).ModelVersion == Show(v2), "version 2 answers by model name");
        await background.StopAsync(backgroundRun);
        Assert.True(background.Failures.IsEmpty, $"the background caller saw failed calls: {string.Join("; ", background.Failures.Take(5))}");
        Assert.True(background.Answered.GetValueOrDefault(Show(v1)) > 0 && background.Answered.GetValueOrDefault(Show(v2)) > 0,
            $"the background caller's answers by version: {string.Join(", ", background.Answered.Select(a => $"v{a.Key} {a.Value}"))}");
        Assert.Equal(v2, await ProductionAsync(registry));
        var completed = (await updater.GetRolloutAsync(new GetRolloutRequest { ModelName = Model })).Rollout;
        Assert.Equal("completed", completed.State);
        Assert.Equal(100, completed.ChallengerPercent);

        // 2. Failed gate: a challenger must now beat the champion's MSE by 1000, which no line can.
        await updater.SetPolicyAsync(new SetPolicyRequest { Policy = PolicyWith(minImprovement: 1000, rows: 100) });
        Assert.Equal(100, (await updater.IngestRowsAsync(Rows(100, slope: 3, seed: 2))).Report.RowsKept);
        var second = await WaitForDecisionAsync(updater, 2);
        Assert.False(second.Promoted);
        Assert.Equal(v2, second.ChampionVersion);
        Assert.Equal(v2, await ProductionAsync(registry));

        // 3. Drift: the row rule off, a PSI rule on; calls with x around 20 (the training data had 0..5) drift the inputs.
        var driftPolicy = PolicyWith(minImprovement: 1000, rows: 0);
        driftPolicy.Drift = new DriftRule { Method = "psi", Threshold = 0.2, Window = 50, MinSamples = 20 };
        await updater.SetPolicyAsync(new SetPolicyRequest { Policy = driftPolicy });
        var drifted = await DriveUntilAsync(inference, x: 20, async () =>
            (await ExplainAsync(updater)).FirstOrDefault(e => e.Kind == "retrain_triggered" && e.Details.GetValueOrDefault("rule") == "drift"),
            "a drift-triggered retraining appears in the timeline");
        Assert.Equal("psi", drifted.Details["method"]);
        var psi = drifted.Details.GetValueOrDefault("psi.x");
        Assert.True(psi is not null && double.Parse(psi, System.Globalization.CultureInfo.InvariantCulture) > 0.2,
            $"{drifted.Summary} {{{string.Join(", ", drifted.Details.Select(d => $"{d.Key}={d.Value}"))}}}");
        Assert.Contains("drift", drifted.Summary);
        // That retraining ends (its challenger cannot pass this policy's gate) before the next step starts a rollout.
        var driftJob = drifted.Details["job_id"];
        await WaitUntilAsync(async () =>
        {
            var status = await updater.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = Model });
            return status.LastJobId == driftJob && !status.Retraining;
        }, "the drift-triggered retraining is over");

        // 4. Automatic rollback: a broken version (fails on calls of two rows) with version 2's signature, rolled out
        //    50 % → 100 %; 2-row calls make it fail; traffic returns to the champion, whose calls all succeed.
        await updater.SetPolicyAsync(new SetPolicyRequest { Policy = PolicyWith(minImprovement: 1000, rows: 0) });
        var broken = await MeshCalls.RegisterBrokenAsync(registry, Model, v2, "e2e-broken");
        await WaitUntilAsync(async () => (await inference.ModelInferAsync(Infer(Show(broken), 1))).ModelVersion == Show(broken),
            "the broken version is loaded (it answers one-row calls)");
        var started = (await updater.StartRolloutAsync(new StartRolloutRequest
        {
            ModelName = Model, Version = broken, Reason = "e2e broken challenger",
            Plan = new RolloutPlan { CanarySteps = { 50, 100 }, BakeSeconds = 2, AutoAdvance = true, MaxErrorRateIncrease = 0.05, MinRequests = 5 },
        })).Rollout;
        Assert.Equal("canary", started.State);
        var outcomes = new Dictionary<string, (int Ok, int Failed)>();
        var unattributed = new List<string>();
        var rolledBack = await DriveUntilAsync(inference, x: 2, async () =>
        {
            var rollout = (await updater.GetRolloutAsync(new GetRolloutRequest { ModelName = Model })).Rollout;
            return rollout.Id == started.Id && rollout.State is not ("canary" or "shadow" or "pending") ? rollout : null;
        }, "the broken challenger's rollout ends", rows: 2, outcomes, unattributed);
        Assert.True(rolledBack.State == "rolled_back", $"{rolledBack.State}: {rolledBack.Reason}");
        Assert.Contains("error rate", rolledBack.Reason);
        Assert.Empty(unattributed);
        Assert.True(outcomes.GetValueOrDefault(Show(broken)).Failed > 0, "the broken challenger received calls and failed them");
        Assert.Equal(0, outcomes.GetValueOrDefault(Show(v2)).Failed);
        Assert.True(outcomes.GetValueOrDefault(Show(v2)).Ok > 0);
        Assert.Equal(v2, await ProductionAsync(registry));
        await WaitUntilAsync(async () => (await inference.ModelInferAsync(Infer("", 2, rows: 1))).ModelVersion == Show(v2), "traffic is back on version 2");

        // 5. The timeline explains each of them, oldest first.
        var timeline = await ExplainAsync(updater);
        // Oldest first (each entry's time is taken just before its insert, so writers racing may differ by a hair).
        for (var i = 1; i < timeline.Count; i++)
        {
            Assert.True(timeline[i].At.ToDateTimeOffset() >= timeline[i - 1].At.ToDateTimeOffset().AddSeconds(-1), $"entry {i} is older than entry {i - 1}");
        }
        string Kinds() => string.Join("\n", timeline.Select(e => $"{e.At} {e.Kind}: {e.Summary}"));
        foreach (var kind in new[] { "data_ingested", "training", "rollout_step", "rollout_completed", "rolled_back", "alias_moved" })
        {
            Assert.True(timeline.Any(e => e.Kind == kind), $"no {kind} entry:\n{Kinds()}");
        }
        Assert.Contains(timeline, e => e.Kind == "retrain_triggered" && e.Details.GetValueOrDefault("rule") == "rows");
        Assert.Contains(timeline, e => e.Kind == "retrain_triggered" && e.Details.GetValueOrDefault("rule") == "drift");
        Assert.Contains(timeline, e => e.Kind == "gate" && e.Details.GetValueOrDefault("promoted") == "true");
        var failedGate = Assert.Single(timeline, e => e.Kind == "gate" && e.Details.GetValueOrDefault("job_id") == second.JobId);
        Assert.Equal("false", failedGate.Details["promoted"]);
        Assert.True(failedGate.Details.ContainsKey("champion_score") && failedGate.Details.ContainsKey("challenger_score"), Kinds());
        Assert.Contains("failed the gate", failedGate.Summary);
        Assert.Contains(timeline, e => e.Kind == "rollout_completed" && e.Details.GetValueOrDefault("challenger_version") == Show(v2));
        var rollback = Assert.Single(timeline, e => e.Kind == "rolled_back");
        Assert.Equal(Show(broken), rollback.Details["challenger_version"]);
        Assert.Contains(timeline, e => e.Kind == "alias_moved" && e.Details.GetValueOrDefault("to_version") == Show(v2));
        // In order: the first update's steps precede the failed gate, which precedes the drift trigger and the rollback.
        Assert.True(Index(timeline, "rollout_completed") < timeline.IndexOf(failedGate), Kinds());
        Assert.True(timeline.IndexOf(failedGate) < timeline.FindIndex(e => e.Kind == "retrain_triggered" && e.Details.GetValueOrDefault("rule") == "drift"), Kinds());
        Assert.True(timeline.FindIndex(e => e.Kind == "retrain_triggered" && e.Details.GetValueOrDefault("rule") == "drift") < Index(timeline, "rolled_back"), Kinds());
    }

    private static int Index(List<TimelineEntry> timeline, string kind) => timeline.FindIndex(e => e.Kind == kind);

    private static Policy PolicyWith(double minImprovement, long rows) => new()
    {
        ModelName = Model, RetrainAfterRows = rows, HoldoutFraction = 0.2, GateMetric = "mse", MinImprovement = minImprovement,
        TrainingWindowRows = 80,
        Rollout = new RolloutPlan { CanarySteps = { 50, 100 }, BakeSeconds = 2, AutoAdvance = true, MaxErrorRateIncrease = 0.05, MinRequests = 3 },
    };

    private static IngestRowsRequest Rows(int count, double slope, int seed)
    {
        var random = new Random(seed);
        var request = new IngestRowsRequest { ModelName = Model, Columns = { "x", "y" } };
        for (var i = 0; i < count; i++)
        {
            var x = random.NextDouble() * 5;
            request.Rows.Add(new Row { Values = { x, slope * x + 1 + (random.NextDouble() - 0.5) * 0.1 } });
        }
        return request;
    }

    private static ModelInferRequest Infer(string version, float x, int rows = 1)
    {
        var contents = new InferTensorContents();
        for (var r = 0; r < rows; r++) contents.Fp32Contents.Add(x + r * 0.1f);
        return new ModelInferRequest
        {
            ModelName = Model, ModelVersion = version,
            Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { rows, 1 }, Contents = contents } },
        };
    }

    private static string Show(long version) => version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<long> ProductionAsync(RegistryService.RegistryServiceClient registry) =>
        (await registry.GetModelAsync(new GetModelRequest { Name = Model })).Model.Aliases["production"];

    private static async Task<List<TimelineEntry>> ExplainAsync(UpdaterService.UpdaterServiceClient updater) =>
        (await updater.ExplainModelAsync(new ExplainModelRequest { ModelName = Model })).Entries.ToList();

    private async Task<Decision> WaitForDecisionAsync(UpdaterService.UpdaterServiceClient updater, int count)
    {
        Decision? decision = null;
        await WaitUntilAsync(async () =>
        {
            var status = await updater.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = Model });
            decision = status.Decisions.Count >= count && !status.Retraining ? status.Decisions[count - 1] : null;
            return decision is not null;
        }, $"gate decision {count} is recorded");
        return decision!;
    }

    private async Task<V1Rollout> WaitForRolloutEndAsync(UpdaterService.UpdaterServiceClient updater, long version)
    {
        V1Rollout? ended = null;
        await WaitUntilAsync(async () =>
        {
            var rollout = (await updater.GetRolloutAsync(new GetRolloutRequest { ModelName = Model })).Rollout;
            ended = rollout.ChallengerVersion == version && rollout.State is "completed" or "rolled_back" or "aborted" ? rollout : null;
            return ended is not null;
        }, $"the rollout of version {version} ends");
        return ended!;
    }

    /// <summary>
    /// Sends calls of <paramref name="rows"/> rows around <paramref name="x"/> by model name until <paramref name="done"/>
    /// answers; counts answers and failures per version when <paramref name="outcomes"/> is given (a failure's version is
    /// read from the replica's message; one that names none goes to <paramref name="unattributed"/>).
    /// </summary>
    private async Task<T> DriveUntilAsync<T>(GRPCInferenceService.GRPCInferenceServiceClient inference, float x, Func<Task<T?>> done, string what,
        int rows = 1, Dictionary<string, (int Ok, int Failed)>? outcomes = null, List<string>? unattributed = null) where T : class
    {
        var deadline = DateTime.UtcNow + Patience;
        var random = new Random(3);
        while (true)
        {
            for (var i = 0; i < 20; i++)
            {
                var request = Infer("", x + (float)(random.NextDouble() - 0.5), rows);
                try
                {
                    var version = (await inference.ModelInferAsync(request)).ModelVersion;
                    if (outcomes is not null) outcomes[version] = (outcomes.GetValueOrDefault(version).Ok + 1, outcomes.GetValueOrDefault(version).Failed);
                }
                catch (RpcException ex) when (outcomes is not null)
                {
                    var match = VersionInMessage().Match(ex.Status.Detail);
                    if (!match.Success)
                    {
                        unattributed!.Add($"{ex.StatusCode}: {ex.Status.Detail}");
                        continue;
                    }
                    var version = match.Groups[1].Value;
                    outcomes[version] = (outcomes.GetValueOrDefault(version).Ok, outcomes.GetValueOrDefault(version).Failed + 1);
                }
            }
            if (await done() is { } result) return result;
            if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out waiting until {what}.\n--- updater ---\n{mesh.Log("updater")}");
            await Task.Delay(50);
        }
    }

    [GeneratedRegex(@"version (\d+)")]
    private static partial Regex VersionInMessage();

    private async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unavailable)
            {
                // Not loaded, not routed or not started yet.
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.\n--- updater ---\n{mesh.Log("updater")}\n--- trainer ---\n{mesh.Log("trainer")}");
            }
            await Task.Delay(250);
        }
    }

    /// <summary>A caller that keeps sending one-row calls by model name alone, counting answers per version and every failure.</summary>
    private sealed class BackgroundCaller(GRPCInferenceService.GRPCInferenceServiceClient inference)
    {
        private readonly CancellationTokenSource stop = new();

        public ConcurrentDictionary<string, int> Answered { get; } = new();

        public ConcurrentQueue<string> Failures { get; } = new();

        public async Task RunAsync()
        {
            var random = new Random(11);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var answer = await inference.ModelInferAsync(Infer("", (float)(random.NextDouble() * 5)));
                    Answered.AddOrUpdate(answer.ModelVersion, 1, (_, n) => n + 1);
                }
                catch (RpcException ex)
                {
                    Failures.Enqueue($"{ex.StatusCode}: {ex.Status.Detail}");
                }
                try
                {
                    await Task.Delay(20, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // Stopped.
                }
            }
        }

        public async Task StopAsync(Task run)
        {
            await stop.CancelAsync();
            await run;
            stop.Dispose();
        }
    }
}
