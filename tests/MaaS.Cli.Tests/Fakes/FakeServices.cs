using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MaaS.Gateway.V1;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using MaaS.Updater.V1;
using Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace MaaS.Cli.Tests.Fakes;

/// <summary>Shared bookkeeping of the fakes.</summary>
internal static class Seen
{
    public static void Call(FakeState state, ServerCallContext context, string name)
    {
        state.LastAuthorization = context.RequestHeaders.GetValue("authorization") ?? "";
        state.Calls.Enqueue(name);
    }

    /// <summary>Model names "fail-&lt;StatusCode&gt;" answer that status, so every status can be met end to end.</summary>
    public static void FailIfAsked(string name)
    {
        if (name.StartsWith("fail-", StringComparison.Ordinal) && System.Enum.TryParse<StatusCode>(name["fail-".Length..], out var code))
        {
            throw new RpcException(new Status(code, $"the fake was asked to fail with {code}"));
        }
    }

    public static Timestamp At(int minute) => Timestamp.FromDateTimeOffset(new DateTimeOffset(2025, 1, 31, 12, minute, 0, TimeSpan.Zero));
}

/// <summary>Registry fake: two models, three versions of linear-regression, uploads and deployments recorded.</summary>
internal sealed class FakeRegistry(FakeState state) : RegistryService.RegistryServiceBase
{
    public static readonly Model Linear = new()
    {
        Name = "linear-regression", Task = "regression", LatestVersion = 3, Aliases = { ["production"] = 2, ["staging"] = 3 },
        Tags = { "demo" }, Owner = "ml-team", CreatedAt = Seen.At(0),
    };

    public static readonly Model Churn = new() { Name = "churn", Task = "binary_classification", LatestVersion = 1, CreatedAt = Seen.At(1) };

    public override Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Registry/ListModels");
        Model[] all = [Churn, Linear];
        var offset = request.PageToken.Length == 0 ? 0 : int.Parse(request.PageToken);
        var size = request.PageSize == 0 ? 500 : request.PageSize;
        var page = all.Skip(offset).Take(size).ToList();
        var next = offset + page.Count < all.Length ? (offset + page.Count).ToString() : "";
        return Task.FromResult(new ListModelsResponse { Models = { page }, NextPageToken = next });
    }

    public override Task<GetModelResponse> GetModel(GetModelRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Registry/GetModel");
        Seen.FailIfAsked(request.Name);
        return request.Name == Linear.Name
            ? Task.FromResult(new GetModelResponse { Model = Linear })
            : throw new RpcException(new Status(StatusCode.NotFound, $"model '{request.Name}' does not exist"));
    }

    public override Task<ListVersionsResponse> ListVersions(ListVersionsRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Registry/ListVersions");
        if (request.ModelName != Linear.Name) throw new RpcException(new Status(StatusCode.NotFound, $"model '{request.ModelName}' does not exist"));
        return Task.FromResult(new ListVersionsResponse
        {
            Versions =
            {
                Version(1, ("train_mse", 0.5), ("val_mse", 0.6)),
                Version(2, ("train_mse", 0.01), ("val_mse", 0.012)),
                Version(3, ("val_mse", 0.011)),
            },
        });
    }

    public override async Task<UploadDatasetResponse> UploadDataset(IAsyncStreamReader<UploadDatasetRequest> requestStream, ServerCallContext context)
    {
        Seen.Call(state, context, "Registry/UploadDataset");
        var bytes = new List<byte>();
        await foreach (var message in requestStream.ReadAllAsync())
        {
            if (message.PayloadCase == UploadDatasetRequest.PayloadOneofCase.Manifest) state.UploadManifest = message.Manifest;
            else bytes.AddRange(message.Chunk);
        }
        state.UploadedBytes = bytes.Count;
        var lines = System.Text.Encoding.UTF8.GetString(bytes.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return new UploadDatasetResponse
        {
            Dataset = new DatasetVersion
            {
                Name = state.UploadManifest!.Name, Version = 1, RowCount = lines.Length - 1, Columns = { lines[0].Split(',') }, Format = state.UploadManifest.Format,
                Digest = state.UploadManifest.Digest, Size = bytes.Count,
            },
        };
    }

    public override Task<SetDeploymentResponse> SetDeployment(SetDeploymentRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Registry/SetDeployment");
        state.Deployed = request;
        return Task.FromResult(new SetDeploymentResponse
        {
            Changed = true,
            Deployment = new Deployment { ModelName = request.ModelName, Revision = 3, Entries = { request.Entries }, Shadow = request.Shadow, Actor = request.Actor, CreatedAt = Seen.At(30) },
        });
    }

    private static ModelVersion Version(long number, params (string Name, double Value)[] metrics)
    {
        var version = new ModelVersion { ModelName = Linear.Name, Version = number, Status = VersionStatus.Ready, CreatedAt = Seen.At((int)number) };
        foreach (var (name, value) in metrics) version.Metrics[name] = value;
        return version;
    }
}

/// <summary>Trainer fake: job-1 trains 3 epochs and succeeds; job-fail fails; job-done has ended; job-1 cancels.</summary>
internal sealed class FakeTrainer(FakeState state) : TrainerService.TrainerServiceBase
{
    public override Task<SubmitJobResponse> SubmitJob(SubmitJobRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Trainer/SubmitJob");
        state.Submitted = request;
        return Task.FromResult(new SubmitJobResponse { JobId = request.Spec.ModelName == "doomed" ? "job-fail" : "job-1" });
    }

    public override async Task WatchJob(WatchJobRequest request, IServerStreamWriter<WatchJobResponse> responseStream, ServerCallContext context)
    {
        Seen.Call(state, context, "Trainer/WatchJob");
        var spec = new TrainingSpec { ModelName = "linear-regression", Epochs = 3 };
        switch (request.JobId)
        {
            case "job-1":
                await responseStream.WriteAsync(new WatchJobResponse { Job = new Job { JobId = "job-1", State = JobState.Queued, Spec = spec } });
                for (var epoch = 1; epoch <= 3; epoch++)
                {
                    await responseStream.WriteAsync(new WatchJobResponse { Job = Running("job-1", spec, epoch) });
                }
                var done = Running("job-1", spec, 3);
                done.State = JobState.Succeeded;
                done.RegisteredVersion = 4;
                done.Metrics["train_mse"] = 0.0125;
                await responseStream.WriteAsync(new WatchJobResponse { Job = done });
                return;
            case "job-fail":
                await responseStream.WriteAsync(new WatchJobResponse { Job = Running("job-fail", spec, 1) });
                var failed = Running("job-fail", spec, 1);
                failed.State = JobState.Failed;
                failed.Message = "the loss became NaN at epoch 2";
                await responseStream.WriteAsync(new WatchJobResponse { Job = failed });
                return;
            default:
                throw new RpcException(new Status(StatusCode.NotFound, $"job '{request.JobId}' does not exist"));
        }
    }

    public override Task<GetJobResponse> GetJob(GetJobRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Trainer/GetJob");
        var spec = new TrainingSpec { ModelName = "linear-regression", Epochs = 40, Architecture = "mlp", Loss = "mse" };
        return request.JobId switch
        {
            "job-1" => Task.FromResult(History("job-1", spec, JobState.Succeeded, 40)),
            "job-empty" => Task.FromResult(History("job-empty", spec, JobState.Queued, 0)),
            _ => throw new RpcException(new Status(StatusCode.NotFound, $"job '{request.JobId}' does not exist")),
        };
    }

    public override Task<CancelJobResponse> CancelJob(CancelJobRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Trainer/CancelJob");
        return request.JobId switch
        {
            "job-1" => Task.FromResult(new CancelJobResponse { Job = new Job { JobId = "job-1", State = JobState.Cancelled, EpochsDone = 2 } }),
            "job-done" => throw new RpcException(new Status(StatusCode.FailedPrecondition, "job job-done already ended (SUCCEEDED)")),
            _ => throw new RpcException(new Status(StatusCode.NotFound, $"job '{request.JobId}' does not exist")),
        };
    }

    private static Job Running(string id, TrainingSpec spec, int epoch) => new()
    {
        JobId = id, State = JobState.Running, Spec = spec, EpochsDone = epoch,
        Progress = new JobProgress
        {
            Epoch = epoch, Epochs = 3, TrainLoss = 1.0 / epoch, ValidationLoss = 1.5 / epoch,
            Elapsed = Duration.FromTimeSpan(TimeSpan.FromSeconds(epoch)), Eta = Duration.FromTimeSpan(TimeSpan.FromSeconds(3 - epoch)),
        },
    };

    private static GetJobResponse History(string id, TrainingSpec spec, JobState jobState, int epochs)
    {
        var response = new GetJobResponse { Job = new Job { JobId = id, State = jobState, Spec = spec, EpochsDone = epochs } };
        for (var epoch = 1; epoch <= epochs; epoch++)
        {
            response.History.Add(new JobProgress { Epoch = epoch, Epochs = epochs, TrainLoss = 2.0 / epoch, ValidationLoss = 2.4 / epoch + 0.01 });
        }
        return response;
    }
}

/// <summary>Updater fake: a completed rollout of v3 against v2, with its timeline; policies echo.</summary>
internal sealed class FakeUpdater(FakeState state) : UpdaterService.UpdaterServiceBase
{
    public override Task<GetRolloutResponse> GetRollout(GetRolloutRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Updater/GetRollout");
        return Task.FromResult(new GetRolloutResponse
        {
            Rollout = new Rollout
            {
                Id = "r-1", ModelName = request.ModelName, ChampionVersion = 2, ChallengerVersion = 3, State = "completed", ChallengerPercent = 100,
                StartedAt = Seen.At(10), EndedAt = Seen.At(20), Plan = new RolloutPlan { CanarySteps = { 10, 50, 100 }, BakeSeconds = 60, AutoAdvance = true },
            },
        });
    }

    public override Task<ExplainModelResponse> ExplainModel(ExplainModelRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Updater/ExplainModel");
        return Task.FromResult(new ExplainModelResponse
        {
            ModelName = request.ModelName,
            Entries =
            {
                new TimelineEntry { At = Seen.At(5), Kind = "data_ingested", Summary = "100 rows kept of 100" },
                new TimelineEntry { At = Seen.At(9), Kind = "gate", Summary = "challenger v3 passed the gate" },
                Step(10, "canary step 1: v3 takes 10 %", ("challenger_percent", "10"), ("champion_version", "2"), ("challenger_version", "3")),
                Step(14, "canary step 2: v3 takes 50 %", ("challenger_percent", "50")),
                // No numbers in the details: the sentence carries the share.
                Step(18, "canary step 3: v3 takes 100 %"),
                new TimelineEntry { At = Seen.At(20), Kind = "rollout_completed", Summary = "production → v3" },
            },
        });
    }

    public override Task<GetPolicyResponse> GetPolicy(GetPolicyRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Updater/GetPolicy");
        return Task.FromResult(new GetPolicyResponse { Policy = new Policy { ModelName = request.ModelName, RetrainAfterRows = 100, HoldoutFraction = 0.2 } });
    }

    public override Task<SetPolicyResponse> SetPolicy(SetPolicyRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Updater/SetPolicy");
        return Task.FromResult(new SetPolicyResponse { Policy = request.Policy });
    }

    private static TimelineEntry Step(int minute, string summary, params (string Key, string Value)[] details)
    {
        var entry = new TimelineEntry { At = Seen.At(minute), Kind = "rollout_step", Summary = summary };
        foreach (var (key, value) in details) entry.Details[key] = value;
        return entry;
    }
}

/// <summary>Key service fake.</summary>
internal sealed class FakeKeys(FakeState state) : KeyService.KeyServiceBase
{
    public override Task<ListKeysResponse> ListKeys(ListKeysRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Keys/ListKeys");
        return Task.FromResult(new ListKeysResponse { Keys = { new ApiKey { Id = "0123456789abcdef", Name = "ci", Scopes = { "infer" }, Burst = 5, CreatedAt = Seen.At(0) } } });
    }
}

/// <summary>Inference fake: doubles FP32 inputs; answers over gRPC with raw bytes and over REST with JSON.</summary>
internal sealed class FakeInference(FakeState state) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        Seen.Call(state, context, "Inference/ModelInfer");
        if (request.ModelName != "linear-regression") throw new RpcException(new Status(StatusCode.NotFound, $"model '{request.ModelName}' is not served"));
        var input = request.Inputs[0];
        var doubled = input.Contents.Fp32Contents.Select(v => v * 2).ToArray();
        var response = new ModelInferResponse { ModelName = request.ModelName, ModelVersion = request.ModelVersion.Length == 0 ? "2" : request.ModelVersion, Id = request.Id };
        response.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "output", Datatype = "FP32", Shape = { input.Shape } });
        var raw = new byte[doubled.Length * 4];
        for (var i = 0; i < doubled.Length; i++) BitConverter.TryWriteBytes(raw.AsSpan(i * 4), doubled[i]);
        response.RawOutputContents.Add(Google.Protobuf.ByteString.CopyFrom(raw));
        return Task.FromResult(response);
    }

    public static void MapRest(WebApplication app, FakeState state)
    {
        app.MapPost("/v2/models/{model}/versions/{version}/infer", async (string model, string version, HttpRequest request) => await Answer(model, version, request, state));
        app.MapPost("/v2/models/{model}/infer", async (string model, HttpRequest request) => await Answer(model, "2", request, state));
    }

    private static async Task<IResult> Answer(string model, string version, HttpRequest request, FakeState state)
    {
        state.LastAuthorization = request.Headers.Authorization.ToString();
        state.Calls.Enqueue("Rest/infer");
        if (model != "linear-regression") return Results.Json(new { error = $"model '{model}' is not served" }, statusCode: 404);
        using var body = await System.Text.Json.JsonDocument.ParseAsync(request.Body);
        var input = body.RootElement.GetProperty("inputs")[0];
        var data = input.GetProperty("data").EnumerateArray().Select(v => v.GetDouble() * 2).ToArray();
        return Results.Json(new
        {
            model_name = model, model_version = version,
            outputs = new[] { new { name = "output", datatype = "FP32", shape = input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(), data } },
        });
    }
}
