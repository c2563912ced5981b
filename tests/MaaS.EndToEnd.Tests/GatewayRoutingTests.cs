using MaaS.Testing.Mesh;
using System.Text.RegularExpressions;
using Grpc.Core;
using Inference;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;

namespace MaaS.EndToEnd.Tests;

/// <summary>
/// The gateway's traffic rules over the real processes (registry, trainer, two inference replicas, gateway,
/// RabbitMQ): three trained versions behind one model name, then a three-way split, a pinned version, an
/// alias in a header, a sticky caller and a shadow, each as a caller of the gateway would see it.
/// </summary>
public sealed partial class GatewayRoutingTests(MeshProcesses mesh) : IClassFixture<MeshProcesses>
{
    private const string Model = "routing-line";

    [Fact]
    public async Task Deployment_ThreeVersionsSplitPinnedAliasStickyAndShadow_EachAsConfigured()
    {
        using var channel = mesh.OpenGatewayChannel();
        var invoker = mesh.WithAdminKey(channel);
        var registry = new RegistryService.RegistryServiceClient(invoker);
        var trainer = new TrainerService.TrainerServiceClient(invoker);
        var inference = new GRPCInferenceService.GRPCInferenceServiceClient(invoker);

        var dataset = await mesh.UploadLineDatasetAsync("routing-line-data", Enumerable.Range(0, 50).Select(i => (i / 10.0, 2 * (i / 10.0) + 1)));
        for (var v = 1; v <= 3; v++)
        {
            Assert.Equal(v, (await MeshCalls.TrainLinearAsync(trainer, Model, dataset.Name, dataset.Version, epochs: 200)).RegisteredVersion);
        }
        await WaitUntilAsync(async () =>
        {
            foreach (var v in new[] { "1", "2", "3" })
            {
                if ((await inference.ModelInferAsync(Infer(v))).ModelVersion != v) return false;
            }
            return true;
        }, "versions 1, 2 and 3 answer through the gateway");

        await registry.SetDeploymentAsync(new SetDeploymentRequest
        {
            ModelName = Model, Actor = "e2e", Reason = "three-way split with a shadow",
            Entries =
            {
                new DeploymentEntry { Version = 1, Pool = "default", Weight = 60 },
                new DeploymentEntry { Version = 2, Pool = "default", Weight = 30 },
                new DeploymentEntry { Version = 3, Pool = "default", Weight = 10 },
            },
            Shadow = new ShadowTarget { Version = 3, Percent = 100 },
        });
        await registry.SetAliasAsync(new SetAliasRequest { ModelName = Model, Alias = "staging", Version = 3, Actor = "e2e", Reason = "alias call" });
        await WaitUntilAsync(async () => (await SplitAsync(inference, 60)).Count == 3, "the split reaches all three versions");

        // The split: 1,000 calls by model name alone, shares within sampling noise of 60/30/10.
        var counts = await SplitAsync(inference, 1000);
        Assert.InRange(counts.GetValueOrDefault("1"), 540, 660);
        Assert.InRange(counts.GetValueOrDefault("2"), 240, 360);
        Assert.InRange(counts.GetValueOrDefault("3"), 60, 140);

        // A pinned number, and an alias in the version header, each reach exactly that version.
        Assert.Equal("2", (await inference.ModelInferAsync(Infer("2"))).ModelVersion);
        var staging = await inference.ModelInferAsync(Infer(""), new Metadata { { "x-model-version", "staging" } });
        Assert.Equal("3", staging.ModelVersion);

        // A sticky caller keeps one version across calls.
        var sticky = new Metadata { { "x-maas-route-key", "customer-42" } };
        var stickyVersions = new HashSet<string>();
        for (var i = 0; i < 30; i++)
        {
            stickyVersions.Add((await inference.ModelInferAsync(Infer(""), sticky)).ModelVersion);
        }
        Assert.Single(stickyVersions);

        // The shadow got its copies (answers never returned: every answer above named the routed version).
        using var http = new HttpClient();
        await WaitUntilAsync(async () => ShadowOk(await http.GetStringAsync(mesh.GatewayMetrics)) > 0, "shadow copies to version 3 are counted");
    }

    private static ModelInferRequest Infer(string version) => new()
    {
        ModelName = Model,
        ModelVersion = version,
        Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { 1, 1 }, Contents = new InferTensorContents { Fp32Contents = { 2f } } } },
    };

    private static async Task<Dictionary<string, int>> SplitAsync(GRPCInferenceService.GRPCInferenceServiceClient inference, int calls)
    {
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < calls; i++)
        {
            var version = (await inference.ModelInferAsync(Infer(""))).ModelVersion;
            counts[version] = counts.GetValueOrDefault(version) + 1;
        }
        return counts;
    }

    private static double ShadowOk(string metrics)
    {
        var total = 0.0;
        foreach (Match m in ShadowLine().Matches(metrics))
        {
            total += double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        return total;
    }

    [GeneratedRegex("""maas_gateway_shadow_requests_total\{model="routing-line",version="3",outcome="OK"\} ([0-9.e+]+)""")]
    private static partial Regex ShadowLine();

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unavailable)
            {
                // Not loaded or not routed yet.
            }
            if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out waiting until {what}.");
            await Task.Delay(200);
        }
    }
}
