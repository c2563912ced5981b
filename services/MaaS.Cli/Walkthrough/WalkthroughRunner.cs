using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Inference;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.V1;
using MaaS.Updater.V1;

using V1Rollout = MaaS.Updater.V1.Rollout;

namespace MaaS.Cli.Walkthrough;

/// <summary>
/// The whole life of a model through the gateway, as a newcomer would do it: data → training →
/// version 1 → production → calls over gRPC and REST → new data → automatic retraining, gate and
/// promotion → the default answers from version 2 while version 1 stays callable.
/// </summary>
public sealed class WalkthroughRunner(CliOptions options, TextWriter output)
{
    private const string Model = "linear-regression";
    private static readonly float[] Probe = [0, 1, 2, 3];

    /// <summary>Every call carries the key as `authorization: Bearer` (gRPC metadata and the REST header).</summary>
    private CallInvoker WithKey(GrpcChannel channel, HttpClient http)
    {
        if (options.ApiKey is not { } key)
        {
            return channel.CreateCallInvoker();
        }
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return channel.Intercept(metadata =>
        {
            metadata.Add("authorization", $"Bearer {key}");
            return metadata;
        });
    }

    /// <summary>Runs every step; 0 when every check held, 1 otherwise.</summary>
    public async Task<int> RunAsync()
    {
        using var channel = GrpcChannel.ForAddress(options.GrpcAddress, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20 });
        using var http = new HttpClient { BaseAddress = options.RestAddress, Timeout = TimeSpan.FromSeconds(30) };
        var invoker = WithKey(channel, http);
        using var deadline = new CancellationTokenSource(options.Timeout);
        var ct = deadline.Token;
        var registry = new RegistryService.RegistryServiceClient(invoker);
        var trainer = new TrainerService.TrainerServiceClient(invoker);
        var updater = new UpdaterService.UpdaterServiceClient(invoker);
        var inference = new GRPCInferenceService.GRPCInferenceServiceClient(invoker);
        try
        {
            Step(1, "generate 100 rows of y = 2x + 1 + noise(0.1)");
            var world1 = LinearData.Generate(100, 2, 1, 0.1, seed: 1);
            var dataset = await UploadAsync(registry, "linear-regression-train", world1, ct);
            Say($"dataset {dataset.Name} version {dataset.Version}: {dataset.RowCount} rows, sha256 {dataset.Digest[..12]}…");

            Step(2, "train linear-regression with TorchSharp (SGD, MSE, 1000 epochs, lr 0.1)");
            var job = await TrainAsync(trainer, dataset, ct);
            Say($"job {job.JobId} {job.State}: train_mse {Metric(job, "train_mse")}, export check max |ORT − torch| = {Metric(job, "export_max_abs_diff")}");
            Say($"version {job.RegisteredVersion} registered");

            Step(3, $"deploy: production = {job.RegisteredVersion}");
            await registry.SetAliasAsync(new SetAliasRequest
            {
                ModelName = Model, Alias = "production", Version = job.RegisteredVersion, Actor = "walkthrough", Reason = "first deployment",
            }, cancellationToken: ct);
            await updater.SetPolicyAsync(new SetPolicyRequest
            {
                Policy = new Policy
            {
                // The world changed (y = 3x + 1 now): train on the 80 newest rows only, not on the old world's data too.
                ModelName = Model, RetrainAfterRows = 100, HoldoutFraction = 0.2, MinImprovement = 0, TrainingWindowRows = 80,
                // A challenger that passes the gate reaches production through a canary: half the traffic, then all of it,
                // each step held a second and rolled back at once if its error rate rises by more than 5 points.
                Rollout = new RolloutPlan { CanarySteps = { 50, 100 }, BakeSeconds = 1, AutoAdvance = true, MaxErrorRateIncrease = 0.05 },
            },
            }, cancellationToken: ct);
            Say("update policy: retrain after 100 new rows, hold out 20 %, challenger must lower MSE, canary 50 % → 100 % (1 s each)");

            Step(4, "call the model through the gateway: x = 0, 1, 2, 3");
            var first = await WaitForVersionAsync(inference, "", job.RegisteredVersion, ct);
            Check("gRPC default", first, slope: 2);
            Check("REST default", await InferRestAsync(http, "", ct), slope: 2);

            Step(5, "the world changes: ingest 100 rows of y = 3x + 1 + noise(0.1)");
            var world2 = LinearData.Generate(100, 3, 1, 0.1, seed: 2);
            var report = (await updater.IngestRowsAsync(Ingest(world2), cancellationToken: ct)).Report;
            Say($"kept {report.RowsKept} of {report.RowsIn} rows (dropped: {string.Join(", ", report.RowsDropped.Select(d => $"{d.Key} {d.Value}"))}), " +
                $"dataset {report.DatasetName} v{report.DatasetVersion}; retraining triggered: {report.RetrainTriggered}");

            Step(6, "the updater retrains by itself, gates the challenger and rolls it out through a canary");
            var decision = await WaitForDecisionAsync(updater, ct);
            Say($"challenger v{decision.ChallengerVersion} mse {decision.ChallengerScore:F4} vs champion v{decision.ChampionVersion} mse {decision.ChampionScore:F4}: " +
                $"{(decision.Promoted ? "passed the gate" : "kept out")} — {decision.Reason}");
            if (!decision.Promoted) throw new WalkthroughFailed("the challenger did not pass the gate");
            var rollout = await WaitForRolloutAsync(updater, decision.ChallengerVersion, ct);
            foreach (var entry in (await updater.ExplainModelAsync(new ExplainModelRequest { ModelName = Model }, cancellationToken: ct)).Entries
                .Where(e => e.Kind is "rollout_step" or "rollout_completed" or "rolled_back"))
            {
                Say($"rollout: {entry.Summary}");
            }
            if (rollout.State != "completed") throw new WalkthroughFailed($"the rollout ended {rollout.State}: {rollout.Reason}");

            Step(7, "the same calls now answer from the new version; version 1 still answers when pinned");
            var latest = await WaitForVersionAsync(inference, "", decision.ChallengerVersion, ct);
            Check("gRPC default", latest, slope: 3);
            Check("REST default", await InferRestAsync(http, "", ct), slope: 3);
            Check("gRPC model_version=\"1\"", await InferGrpcAsync(inference, "1", ct), slope: 2);
            Check("REST /versions/1", await InferRestAsync(http, "1", ct), slope: 2);

            output.WriteLine();
            output.WriteLine("walkthrough complete: train → register → deploy → serve → update, all through the gateway");
            return 0;
        }
        catch (Exception ex) when (ex is WalkthroughFailed or RpcException or HttpRequestException or OperationCanceledException)
        {
            output.WriteLine($"walkthrough FAILED: {ex.Message}");
            return 1;
        }
    }

    /// <summary>Waits until the rollout of <paramref name="version"/> has ended (completed, rolled back or aborted).</summary>
    private static async Task<V1Rollout> WaitForRolloutAsync(UpdaterService.UpdaterServiceClient updater, long version, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                var rollout = (await updater.GetRolloutAsync(new GetRolloutRequest { ModelName = Model }, cancellationToken: ct)).Rollout;
                if (rollout.ChallengerVersion == version && rollout.State is "completed" or "rolled_back" or "aborted")
                {
                    return rollout;
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
                // The rollout has not started yet.
            }
            await Task.Delay(250, ct);
        }
    }

    private async Task<DatasetVersion> UploadAsync(RegistryService.RegistryServiceClient registry, string name, List<double[]> rows, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(new NumericTable(["x", "y"], rows).ToCsv());
        using var call = registry.UploadDataset(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new UploadDatasetRequest
        {
            Manifest = new DatasetManifest { Name = name, Format = "csv", Digest = Convert.ToHexStringLower(SHA256.HashData(bytes)) },
        }, ct);
        await call.RequestStream.WriteAsync(new UploadDatasetRequest { Chunk = ByteString.CopyFrom(bytes) }, ct);
        await call.RequestStream.CompleteAsync();
        return (await call).Dataset;
    }

    private async Task<Job> TrainAsync(TrainerService.TrainerServiceClient trainer, DatasetVersion dataset, CancellationToken ct)
    {
        var submitted = await trainer.SubmitJobAsync(new SubmitJobRequest
        {
            Spec = new TrainingSpec
            {
                ModelName = Model, DatasetName = dataset.Name, DatasetVersion = dataset.Version,
                FeatureColumns = { "x" }, LabelColumn = "y", Architecture = "linear_regression",
                Optimizer = "sgd", Loss = "mse", Epochs = 1000, LearningRate = 0.1, Seed = 42,
            },
        }, cancellationToken: ct);
        Say($"job {submitted.JobId} submitted");
        using var watch = trainer.WatchJob(new WatchJobRequest { JobId = submitted.JobId }, cancellationToken: ct);
        Job? last = null;
        await foreach (var update in watch.ResponseStream.ReadAllAsync(ct))
        {
            if (last is null || update.Job.State != last.State) Say($"  {update.Job.State} ({update.Job.EpochsDone} epochs)");
            last = update.Job;
        }
        if (last is null || last.State != JobState.Succeeded)
        {
            throw new WalkthroughFailed($"training ended {last?.State}: {last?.Message}");
        }
        return last;
    }

    private IngestRowsRequest Ingest(List<double[]> rows)
    {
        var request = new IngestRowsRequest { ModelName = Model, Columns = { "x", "y" } };
        foreach (var row in rows) request.Rows.Add(new Row { Values = { row } });
        return request;
    }

    private async Task<Decision> WaitForDecisionAsync(UpdaterService.UpdaterServiceClient updater, CancellationToken ct)
    {
        string? lastNote = null;
        while (true)
        {
            var status = await updater.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = Model }, cancellationToken: ct);
            var note = status.Retraining ? $"  retraining (job {status.LastJobId})…" : "  waiting for the decision…";
            if (note != lastNote) Say(note);
            lastNote = note;
            if (status.Decisions.Count > 0) return status.Decisions[^1];
            await Task.Delay(500, ct);
        }
    }

    /// <summary>Calls the default version until the expected one answers (replicas load a new version, then traffic moves).</summary>
    private async Task<Prediction> WaitForVersionAsync(GRPCInferenceService.GRPCInferenceServiceClient inference, string version, long expected, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                var prediction = await InferGrpcAsync(inference, version, ct);
                if (prediction.Version == expected.ToString(CultureInfo.InvariantCulture)) return prediction;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unavailable)
            {
                // Not ready on any replica yet.
            }
            await Task.Delay(300, ct);
        }
    }

    private static async Task<Prediction> InferGrpcAsync(GRPCInferenceService.GRPCInferenceServiceClient inference, string version, CancellationToken ct)
    {
        var metadata = await inference.ModelMetadataAsync(new ModelMetadataRequest { Name = Model, Version = version }, cancellationToken: ct);
        var request = new ModelInferRequest { ModelName = Model, ModelVersion = version, Id = "walkthrough" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = metadata.Inputs[0].Name, Datatype = "FP32", Shape = { Probe.Length, 1 } };
        input.Contents = new InferTensorContents();
        input.Contents.Fp32Contents.AddRange(Probe);
        request.Inputs.Add(input);
        var response = await inference.ModelInferAsync(request, cancellationToken: ct);
        var values = response.RawOutputContents.Count > 0
            ? Enumerable.Range(0, Probe.Length).Select(i => BitConverter.ToSingle(response.RawOutputContents[0].Span[(i * 4)..])).ToArray()
            : response.Outputs[0].Contents.Fp32Contents.ToArray();
        return new Prediction(response.ModelVersion, values);
    }

    private static async Task<Prediction> InferRestAsync(HttpClient http, string version, CancellationToken ct)
    {
        var path = version.Length == 0 ? $"v2/models/{Model}/infer" : $"v2/models/{Model}/versions/{version}/infer";
        var body = new JsonObject
        {
            ["id"] = "walkthrough",
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "input", ["shape"] = new JsonArray(Probe.Length, 1), ["datatype"] = "FP32",
                ["data"] = new JsonArray(Probe.Select(p => (JsonNode)p).ToArray()),
            }),
        };
        using var response = await http.PostAsJsonAsync(path, body, ct);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct));
        if (!response.IsSuccessStatusCode)
        {
            throw new WalkthroughFailed($"REST {path} answered {(int)response.StatusCode}: {json?["error"]}");
        }
        var data = json!["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        return new Prediction(json["model_version"]!.GetValue<string>(), data);
    }

    private void Check(string how, Prediction prediction, double slope)
    {
        var worst = Probe.Select((x, i) => Math.Abs(prediction.Values[i] - (slope * x + 1))).Max();
        var shown = string.Join(", ", prediction.Values.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)));
        var ok = worst <= 0.25;
        Say($"{how,-24} version {prediction.Version}: [{shown}] ≈ {slope}x + 1 {(ok ? "✓" : "✗")}");
        if (!ok) throw new WalkthroughFailed($"{how} answered [{shown}], not ≈ {slope}x + 1");
    }

    private static string Metric(Job job, string name) =>
        job.Metrics.TryGetValue(name, out var v) ? v.ToString("G4", CultureInfo.InvariantCulture) : "n/a";

    private void Step(int n, string text)
    {
        output.WriteLine();
        output.WriteLine($"[{n}/7] {text}");
    }

    private void Say(string text) => output.WriteLine($"      {text}");

    private sealed record Prediction(string Version, float[] Values);

    private sealed class WalkthroughFailed(string message) : Exception(message);
}
