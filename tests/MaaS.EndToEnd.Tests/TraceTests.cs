using System.Diagnostics;
using Grpc.Core;
using Inference;
using MaaS.Registry.V1;
using MaaS.Testing.Mesh;
using MaaS.Trainer.V1;
using MaaS.Updater.V1;

namespace MaaS.EndToEnd.Tests;

/// <summary>
/// Issue 8's promise over real processes: a caller's W3C trace id, sent with IngestRows to the gateway, is found
/// in the logs of every hop the update takes: the gateway, the updater (ingest, retraining, gate, rollout steps),
/// the trainer's job and the registry (the version registered, the alias moved), until the rollout's end.
/// </summary>
public sealed class TraceTests(TracedMesh mesh) : IClassFixture<TracedMesh>
{
    private const string Model = "trace-line";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task IngestRows_WithTraceparent_OneTraceFromIngestToRollout()
    {
        using var channel = mesh.OpenGatewayChannel();
        var invoker = mesh.WithAdminKey(channel);
        var registry = new RegistryService.RegistryServiceClient(invoker);
        var trainer = new TrainerService.TrainerServiceClient(invoker);
        var updater = new UpdaterService.UpdaterServiceClient(invoker);
        var inference = new GRPCInferenceService.GRPCInferenceServiceClient(invoker);

        // Version 1: y = 2x + 1, production.
        var dataset = await mesh.UploadLineDatasetAsync("trace-line-data", Enumerable.Range(0, 50).Select(i => (i / 10.0, 2 * (i / 10.0) + 1)));
        var v1 = (await MeshCalls.TrainLinearAsync(trainer, Model, dataset.Name, dataset.Version, epochs: 300)).RegisteredVersion;
        await registry.SetAliasAsync(new SetAliasRequest { ModelName = Model, Alias = "production", Version = v1, Actor = "e2e", Reason = "first deployment" });
        await WaitUntilAsync(async () => (await inference.ModelInferAsync(Infer(2))).ModelVersion == Show(v1), "version 1 answers by model name");

        await updater.SetPolicyAsync(new SetPolicyRequest
        {
            Policy = new Policy
            {
                ModelName = Model, RetrainAfterRows = 20, HoldoutFraction = 0.2, GateMetric = "mse", MinImprovement = 0,
                Rollout = new RolloutPlan { CanarySteps = { 50, 100 }, BakeSeconds = 1, AutoAdvance = true, MaxErrorRateIncrease = 0.05, MinRequests = 1 },
            },
        });

        // The caller's own trace: its id must come back in every service's log.
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var traceparent = $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01";
        var ingest = (await updater.IngestRowsAsync(Rows(40), new Metadata { { "traceparent", traceparent } })).Report;
        Assert.Equal(40, ingest.RowsKept);
        Assert.True(ingest.RetrainTriggered, ingest.TriggerReason);

        // The canary needs calls to judge: keep calling by model name until the challenger's rollout completed.
        var rollout = await DriveUntilAsync(inference, async () =>
        {
            var current = (await updater.GetRolloutAsync(new GetRolloutRequest { ModelName = Model })).Rollout;
            return current is not null && current.ChallengerVersion != v1 && current.State is "completed" or "rolled_back" or "aborted" ? current : null;
        });
        Assert.True(rollout.State == "completed", $"{rollout.State}: {rollout.Reason}");

        // Every hop, by a line that carries the trace id (the outboxes publish a little after the state change).
        (string Service, string Hop, string Text)[] hops =
        [
            ("gateway", "the IngestRows request", "UpdaterService/IngestRows"),
            ("updater", "ingest", "Ingested 40 rows"),
            ("updater", "retrain trigger", "Retraining " + Model),
            ("updater", "RetrainTriggered published", "Published MaaS.Contracts.RetrainTriggered"),
            ("updater", "TrainModel published", "Published MaaS.Contracts.TrainModel"),
            ("trainer", "the job runs", "running for model " + Model),
            ("trainer", "the job registers its version", $"registered {Model} version {rollout.ChallengerVersion}"),
            ("registry", "version registered", $"Model {Model} version {rollout.ChallengerVersion} registered"),
            ("updater", "gate", "Gate for " + Model),
            ("updater", "rollout started", $"Rollout {rollout.Id} of {Model}"),
            ("updater", "rollout steps published", "Published MaaS.Contracts.RolloutStepChanged"),
            ("updater", "rollout completed published", "Published MaaS.Contracts.RolloutCompleted"),
            ("registry", "alias moved published", "Published MaaS.Contracts.AliasMoved"),
        ];
        List<string> missing = [];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        do
        {
            missing = hops.Where(h => !LinesOf(h.Service).Any(l => l.Contains(traceId, StringComparison.Ordinal) && l.Contains(h.Text, StringComparison.Ordinal)))
                .Select(h => $"{h.Service}: {h.Hop} (\"{h.Text}\")").ToList();
            if (missing.Count > 0) await Task.Delay(500);
        }
        while (missing.Count > 0 && DateTime.UtcNow < deadline);
        Assert.True(missing.Count == 0,
            $"trace {traceId} is missing from: {string.Join("; ", missing)}\n--- lines with the trace ---\n"
            + string.Join('\n', new[] { "gateway", "updater", "trainer", "registry" }.SelectMany(s => LinesOf(s).Where(l => l.Contains(traceId, StringComparison.Ordinal)).Select(l => $"[{s}] {l}"))));
        // The first step is taken inside the gate's consumer; the later ones by the rollout driver's timer, still in the trace.
        var steps = LinesOf("updater").Count(l => l.Contains(traceId, StringComparison.Ordinal) && l.Contains("Published MaaS.Contracts.RolloutStepChanged", StringComparison.Ordinal));
        Assert.True(steps >= 2, $"{steps} rollout step event(s) published in trace {traceId}; the 50 % and 100 % steps make at least two");
    }

    private string[] LinesOf(string service)
    {
        var path = Path.Combine(mesh.WorkDirectory, "logs", service + ".log");
        if (!File.Exists(path)) return [];
        // The service still writes the file: open it shared.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }

    private static IngestRowsRequest Rows(int count)
    {
        var random = new Random(5);
        var request = new IngestRowsRequest { ModelName = Model, Columns = { "x", "y" } };
        for (var i = 0; i < count; i++)
        {
            var x = random.NextDouble() * 5;
            request.Rows.Add(new Row { Values = { x, 3 * x + 1 + (random.NextDouble() - 0.5) * 0.1 } });
        }
        return request;
    }

    private static ModelInferRequest Infer(float x) => new()
    {
        ModelName = Model,
        Inputs =
        {
            new ModelInferRequest.Types.InferInputTensor
            {
                Name = "input", Datatype = "FP32", Shape = { 1, 1 }, Contents = new InferTensorContents { Fp32Contents = { x } },
            },
        },
    };

    private static string Show(long version) => version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Calls by model name (failures of a version not yet loaded are ignored) until <paramref name="done"/> answers.</summary>
    private async Task<T> DriveUntilAsync<T>(GRPCInferenceService.GRPCInferenceServiceClient inference, Func<Task<T?>> done) where T : class
    {
        var deadline = DateTime.UtcNow + Patience;
        var random = new Random(3);
        while (true)
        {
            for (var i = 0; i < 10; i++)
            {
                try
                {
                    await inference.ModelInferAsync(Infer((float)(random.NextDouble() * 5)));
                }
                catch (RpcException)
                {
                    // Counted by the gateway's traffic windows; the rollout's own checks judge it.
                }
            }
            try
            {
                if (await done() is { } result) return result;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
                // No rollout yet: the retraining is still running.
            }
            if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out waiting for the rollout to end.\n--- updater ---\n{mesh.Log("updater")}\n--- trainer ---\n{mesh.Log("trainer")}");
            await Task.Delay(50);
        }
    }

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
            if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out waiting until {what}.\n--- updater ---\n{mesh.Log("updater")}");
            await Task.Delay(250);
        }
    }
}
