using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using MaaS.Updater.V1;

namespace MaaS.EndToEnd.Tests;

/// <summary>
/// The README's story over the real broker and real processes: the CLI walkthrough trains,
/// deploys, serves and updates the model; then a client checks by itself what a user would see.
/// </summary>
public sealed class MeshWalkthroughTests(MeshProcesses mesh) : IClassFixture<MeshProcesses>
{
    [Fact]
    public async Task Walkthrough_RealBrokerAndProcesses_V1ServesThenUpdaterPromotesV2()
    {
        var (exit, output) = await mesh.RunScriptAsync("infra/walkthrough.sh", TimeSpan.FromMinutes(6), ("MAAS_WALKTHROUGH_TIMEOUT", "330"));
        Assert.True(exit == 0, $"walkthrough exited {exit}:\n{output}\n--- trainer ---\n{mesh.Log("trainer")}\n--- updater ---\n{mesh.Log("updater")}\n--- gateway ---\n{mesh.Log("gateway")}");
        Assert.Contains("walkthrough complete", output);

        using var channel = mesh.OpenGatewayChannel();
        var invoker = mesh.WithAdminKey(channel);
        var inference = new GRPCInferenceService.GRPCInferenceServiceClient(invoker);
        var registry = new RegistryService.RegistryServiceClient(invoker);
        var updater = new UpdaterService.UpdaterServiceClient(invoker);

        var model = (await registry.GetModelAsync(new GetModelRequest { Name = "linear-regression" })).Model;
        Assert.Equal(2, model.Aliases["production"]);

        var v2 = await InferAsync(inference, "");
        Assert.Equal("2", v2.ModelVersion);
        AssertLine(v2, slope: 3);
        var v1 = await InferAsync(inference, "1");
        Assert.Equal("1", v1.ModelVersion);
        AssertLine(v1, slope: 2);

        var status = await updater.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = "linear-regression" });
        var decision = Assert.Single(status.Decisions);
        Assert.True(decision.Promoted);
        Assert.True(decision.ChallengerScore < decision.ChampionScore);

        var version2 = (await registry.GetVersionAsync(new GetVersionRequest { ModelName = "linear-regression", Version = 2 })).Version;
        Assert.Equal(1, version2.Lineage.ParentVersion);
        Assert.Equal("linear-regression-retrain", version2.Lineage.DatasetName);

        using var http = mesh.GatewayHttp();
        var rest = await http.PostAsJsonAsync("v2/models/linear-regression/versions/1/infer", Body("input", "FP32", [2, 1], [0f, 3f]));
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        var json = JsonNode.Parse(await rest.Content.ReadAsStringAsync())!;
        Assert.Equal("1", json["model_version"]!.GetValue<string>());
        var data = json["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        Assert.Equal(1, data[0], 0.25);
        Assert.Equal(7, data[1], 0.25);

        // A standard client in another language (Python, Debian's grpcio) sees the same.
        foreach (var (version, slope) in new[] { ("", 3.0), ("1", 2.0) })
        {
            var python = await mesh.RunPythonClientAsync(version, [0, 1, 2, 3]);
            Assert.Equal(2, python.Count);
            foreach (var line in python)
            {
                Assert.Equal(version.Length == 0 ? "2" : "1", line["model_version"]!.GetValue<string>());
                var outputs = line["outputs"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
                for (var x = 0; x < 4; x++) Assert.InRange(outputs[x], slope * x + 1 - 0.25, slope * x + 1 + 0.25);
            }
        }

        // Every OIP rpc, gRPC and REST, from the Python client: through the gateway and straight at a replica.
        foreach (var (grpc, restAddress, direct) in new[] { (mesh.GatewayGrpc, mesh.GatewayRest, false), (mesh.ReplicaGrpc, mesh.ReplicaRest, true) })
        {
            var (code, checks, errors) = await mesh.RunProtocolCheckAsync(grpc, restAddress, direct);
            var failed = checks.Where(c => !c["ok"]!.GetValue<bool>()).Select(c => c.ToJsonString()).ToList();
            Assert.True(code == 0 && failed.Count == 0, $"protocol checks against {grpc} failed:\n{string.Join('\n', failed)}\n{errors}");
            Assert.True(checks.Count >= 20, $"only {checks.Count} checks ran against {grpc}");
        }

        // Bad requests through the gateway get statuses a caller can act on.
        var wrongInput = new ModelInferRequest { ModelName = "linear-regression", Inputs = { Tensor("nope", [1, 1], 1f) } };
        var ex = await Assert.ThrowsAsync<RpcException>(() => inference.ModelInferAsync(wrongInput).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("nope", ex.Status.Detail);

        var wrongShape = new ModelInferRequest { ModelName = "linear-regression", Inputs = { Tensor("input", [2, 1], 1f) } };
        ex = await Assert.ThrowsAsync<RpcException>(() => inference.ModelInferAsync(wrongShape).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);

        ex = await Assert.ThrowsAsync<RpcException>(() => inference.ModelInferAsync(new ModelInferRequest
        {
            ModelName = "linear-regression", ModelVersion = "99", Inputs = { Tensor("input", [1, 1], 1f) },
        }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);

        var notFound = await http.PostAsJsonAsync("v2/models/no-such-model/infer", Body("input", "FP32", [1, 1], [1f]));
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);

        // Keys: none → Unauthenticated; an infer-only key calls models but not admin rpcs (PermissionDenied).
        var anonymous = await Assert.ThrowsAsync<RpcException>(() =>
            new RegistryService.RegistryServiceClient(channel).RollbackAsync(new RollbackRequest { ModelName = "linear-regression" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        var inferKey = await new MaaS.Gateway.V1.KeyService.KeyServiceClient(invoker).CreateKeyAsync(
            new MaaS.Gateway.V1.CreateKeyRequest { Name = "e2e-app", Scopes = { "infer" } });
        var inferOnly = Grpc.Core.Interceptors.CallInvokerExtensions.Intercept(channel.CreateCallInvoker(), metadata =>
        {
            metadata.Add("authorization", $"Bearer {inferKey.Token}");
            return metadata;
        });
        var appAnswer = await new GRPCInferenceService.GRPCInferenceServiceClient(inferOnly).ModelInferAsync(new ModelInferRequest
        {
            ModelName = "linear-regression", Inputs = { Tensor("input", [1, 1], 1f) },
        });
        Assert.Equal("linear-regression", appAnswer.ModelName);
        var denied = await Assert.ThrowsAsync<RpcException>(() =>
            new RegistryService.RegistryServiceClient(inferOnly).RollbackAsync(new RollbackRequest { ModelName = "linear-regression" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        // The alias history answers "what served at time T", and one call rolls production back.
        var history = (await registry.GetAliasHistoryAsync(new GetAliasHistoryRequest { ModelName = "linear-regression", Alias = "production" })).Entries;
        var promotion = history.Last(e => e.ToVersion == 2);
        var justBefore = Timestamp.FromDateTimeOffset(promotion.At.ToDateTimeOffset().AddMilliseconds(-1));
        var served = await registry.GetServingVersionAsync(new GetServingVersionRequest { ModelName = "linear-regression", At = justBefore });
        Assert.Equal(1, served.Version);
        var rollback = await registry.RollbackAsync(new RollbackRequest { ModelName = "linear-regression", Reason = "e2e", Actor = "e2e" });
        Assert.Equal((1L, 2L), (rollback.Version, rollback.PreviousVersion));
        var afterRollback = await WaitForDefaultVersionAsync(inference, "linear-regression", "1");
        AssertLine(afterRollback, slope: 2);
    }

    [Fact]
    public async Task Market_FindInstallDeployAndCallThroughGateway_AnswersLikeTheCard()
    {
        using var channel = mesh.OpenGatewayChannel();
        var invoker = mesh.WithAdminKey(channel);
        var market = new MarketService.MarketServiceClient(invoker);
        var inference = new GRPCInferenceService.GRPCInferenceServiceClient(invoker);

        var found = await market.SearchMarketAsync(new SearchMarketRequest { Task = "regression", Kind = MarketEntryKind.Model });
        Assert.Contains(found.Entries, e => e.Name == "seed-line");
        var installed = await market.InstallMarketModelAsync(new InstallMarketModelRequest
        {
            EntryName = "seed-line", ModelName = "market-line", Deploy = true, Actor = "e2e",
        });
        Assert.Equal(1, installed.Version.Version);

        var answer = await WaitForDefaultVersionAsync(inference, "market-line", "1");
        AssertLine(answer, slope: 2);

        // The same install again is answered as it is (an install can be retried); another entry cannot take the model.
        var again = await market.InstallMarketModelAsync(new InstallMarketModelRequest
        {
            EntryName = "seed-line", ModelName = "market-line", Deploy = true, Actor = "e2e",
        });
        Assert.Equal(1, again.Version.Version);
        var other = await Assert.ThrowsAsync<RpcException>(() => market.InstallMarketModelAsync(new InstallMarketModelRequest
        {
            EntryName = "two-moons", ModelName = "market-line",
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, other.StatusCode);
    }

    /// <summary>Calls the default version until the expected one answers: replicas and the gateway learn of a change within a poll.</summary>
    private static async Task<ModelInferResponse> WaitForDefaultVersionAsync(GRPCInferenceService.GRPCInferenceServiceClient inference, string model, string version)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                var response = await inference.ModelInferAsync(new ModelInferRequest
                {
                    ModelName = model, Id = "e2e", Inputs = { Tensor("input", [4, 1], 0f, 1f, 2f, 3f) },
                });
                if (response.ModelVersion == version) return response;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unavailable && DateTime.UtcNow < deadline)
            {
            }
            Assert.True(DateTime.UtcNow < deadline, $"{model} version {version} never became the default");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Trainer_BadRequestsThroughGateway_InvalidArgumentOrNotFound()
    {
        using var channel = mesh.OpenGatewayChannel();
        var invoker = mesh.WithAdminKey(channel);
        var trainer = new TrainerService.TrainerServiceClient(invoker);
        var inference = new GRPCInferenceService.GRPCInferenceServiceClient(invoker);

        var missingDataset = await Assert.ThrowsAsync<RpcException>(() => trainer.SubmitJobAsync(new SubmitJobRequest
        {
            Spec = new TrainingSpec { ModelName = "m", DatasetName = "no-such-dataset", LabelColumn = "y", Epochs = 10, LearningRate = 0.1 },
        }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missingDataset.StatusCode);

        var badEpochs = await Assert.ThrowsAsync<RpcException>(() => trainer.SubmitJobAsync(new SubmitJobRequest
        {
            Spec = new TrainingSpec { ModelName = "m", DatasetName = "d", LabelColumn = "y", Epochs = 0, LearningRate = 0.1 },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, badEpochs.StatusCode);
        Assert.Contains("epochs", badEpochs.Status.Detail);

        var unknownModel = await Assert.ThrowsAsync<RpcException>(() => inference.ModelInferAsync(new ModelInferRequest
        {
            ModelName = "never-registered", Inputs = { Tensor("input", [1, 1], 1f) },
        }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknownModel.StatusCode);
    }

    private static async Task<ModelInferResponse> InferAsync(GRPCInferenceService.GRPCInferenceServiceClient inference, string version)
    {
        var request = new ModelInferRequest { ModelName = "linear-regression", ModelVersion = version, Id = "e2e", Inputs = { Tensor("input", [4, 1], 0f, 1f, 2f, 3f) } };
        var response = await inference.ModelInferAsync(request);
        Assert.Equal("e2e", response.Id);
        return response;
    }

    private static void AssertLine(ModelInferResponse response, double slope)
    {
        var values = response.Outputs[0].Contents.Fp32Contents;
        for (var x = 0; x < 4; x++)
        {
            Assert.InRange(values[x], slope * x + 1 - 0.25, slope * x + 1 + 0.25);
        }
    }

    private static ModelInferRequest.Types.InferInputTensor Tensor(string name, long[] shape, params float[] values)
    {
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "FP32", Shape = { shape }, Contents = new InferTensorContents() };
        tensor.Contents.Fp32Contents.AddRange(values);
        return tensor;
    }

    private static JsonObject Body(string name, string datatype, long[] shape, float[] data) => new()
    {
        ["inputs"] = new JsonArray(new JsonObject
        {
            ["name"] = name, ["datatype"] = datatype,
            ["shape"] = new JsonArray(shape.Select(s => (JsonNode)s).ToArray()),
            ["data"] = new JsonArray(data.Select(d => (JsonNode)d).ToArray()),
        }),
    };
}
