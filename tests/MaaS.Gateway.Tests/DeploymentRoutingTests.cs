using System.Net.Http.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Gateway.Routing;
using MaaS.Registry.V1;
using Microsoft.AspNetCore.Builder;

namespace MaaS.Gateway.Tests;

/// <summary>
/// Replica doubles a (m v1) and b (m v2), a registry double whose deployment of m is 50/50 over v1 and
/// v2 (production still → 2), and the real gateway with its metrics port, on real sockets.
/// </summary>
public sealed class DeploymentFixture : IAsyncLifetime
{
    private readonly List<WebApplication> _hosts = [];

    public GrpcChannel Channel { get; private set; } = null!;
    public HttpClient Rest { get; private set; } = null!;
    public HttpClient Metrics { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var (a, replicaA) = await TestHosts.StartReplicaAsync("replica-a", 1);
        var (b, replicaB) = await TestHosts.StartReplicaAsync("replica-b", 2);
        var deployment = new Deployment
        {
            ModelName = "m",
            Revision = 3,
            Entries =
            {
                new DeploymentEntry { Version = 1, Pool = "default", Weight = 50 },
                new DeploymentEntry { Version = 2, Pool = "default", Weight = 50 },
            },
        };
        var (registry, registryAddress) = await TestHosts.StartRegistryAsync(deployment);
        var metricsPort = TestHosts.FreePort();
        var (gateway, grpcPort, httpPort) = await TestHosts.StartGatewayAsync([replicaA, replicaB], registryAddress, pollIntervalMs: 100, metricsPort);
        _hosts.AddRange([gateway, a, b, registry]);

        await TestHosts.WaitUntilAsync(gateway, t =>
            t.Deployments.ContainsKey("m") && t.Resolve("m", "1").Outcome == RouteOutcome.Found && t.Resolve("m", "2").Outcome == RouteOutcome.Found);

        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        Rest = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
        Metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        Rest.Dispose();
        Metrics.Dispose();
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
    }
}

public sealed class DeploymentRoutingTests(DeploymentFixture fixture) : IClassFixture<DeploymentFixture>
{
    private GRPCInferenceService.GRPCInferenceServiceClient Inference => new(fixture.Channel);

    [Fact]
    public async Task ModelInfer_EmptyVersion_SplitsByDeploymentWeights()
    {
        var replicas = new List<string>();
        for (var i = 0; i < 200; i++)
        {
            var response = await Inference.ModelInferAsync(new ModelInferRequest { ModelName = "m" });
            replicas.Add(response.Parameters["replica"].StringParam);
            // The replica is told the version the gateway drew.
            Assert.Equal(response.Parameters["replica"].StringParam == "replica-a" ? "1" : "2", response.Parameters["resolved_version"].StringParam);
        }

        Assert.InRange(replicas.Count(r => r == "replica-a"), 60, 140);
        Assert.InRange(replicas.Count(r => r == "replica-b"), 60, 140);
    }

    [Fact]
    public async Task ModelInfer_SameRouteKey_KeepsOneVersion()
    {
        foreach (var caller in new[] { "alice", "bob", "carol", "dave" })
        {
            var headers = new Metadata { { "x-maas-route-key", caller } };
            var seen = new HashSet<string>();
            for (var i = 0; i < 20; i++)
            {
                var response = await Inference.ModelInferAsync(new ModelInferRequest { ModelName = "m" }, headers);
                seen.Add(response.Parameters["replica"].StringParam);
            }
            Assert.Single(seen);
        }
    }

    [Theory]
    [InlineData("1", "replica-a", "1")]
    [InlineData("2", "replica-b", "2")]
    [InlineData("staging", "replica-a", "1")]
    public async Task ModelInfer_VersionHeader_PinsWhenTheMessageLeavesItEmpty(string header, string replica, string version)
    {
        var response = await Inference.ModelInferAsync(new ModelInferRequest { ModelName = "m" },
            new Metadata { { "x-model-version", header } });

        Assert.Equal(replica, response.Parameters["replica"].StringParam);
        Assert.Equal(version, response.Parameters["resolved_version"].StringParam);
        Assert.Equal(version, response.ModelVersion);
    }

    [Fact]
    public async Task ModelInfer_MessageVersionAndHeader_MessageWins()
    {
        var response = await Inference.ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = "2" },
            new Metadata { { "x-model-version", "1" } });

        Assert.Equal("replica-b", response.Parameters["replica"].StringParam);
    }

    [Fact]
    public async Task ModelInfer_UnknownAliasInHeader_NotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Inference.ModelInferAsync(new ModelInferRequest { ModelName = "m" },
            new Metadata { { "x-model-version", "nightly" } }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("nightly", error.Status.Detail);
    }

    [Fact]
    public async Task RestInfer_VersionHeader_PinsAndPathWins()
    {
        using var pinned = new HttpRequestMessage(HttpMethod.Post, "/v2/models/m/infer") { Content = JsonContent.Create(new { inputs = Array.Empty<object>() }) };
        pinned.Headers.Add("x-model-version", "1");
        using var byHeader = await fixture.Rest.SendAsync(pinned);
        var answer = await byHeader.Content.ReadFromJsonAsync<TestHosts.RestAnswer>();

        using var both = new HttpRequestMessage(HttpMethod.Post, "/v2/models/m/versions/2/infer") { Content = JsonContent.Create(new { inputs = Array.Empty<object>() }) };
        both.Headers.Add("x-model-version", "1");
        using var byPath = await fixture.Rest.SendAsync(both);
        var pathAnswer = await byPath.Content.ReadFromJsonAsync<TestHosts.RestAnswer>();

        Assert.Equal(("replica-a", "1", "1"), (answer!.Replica, answer.Version, answer.Resolved));
        Assert.Equal(("replica-b", "2"), (pathAnswer!.Replica, pathAnswer.Version));
    }

    [Fact]
    public async Task Metrics_AfterRequests_CountByModelVersionProtocolAndCode()
    {
        await Inference.ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = "1" });
        await Assert.ThrowsAsync<RpcException>(() => Inference.ModelInferAsync(new ModelInferRequest { ModelName = "made-up-model-42" }).ResponseAsync);
        using (var rest = await fixture.Rest.PostAsJsonAsync("/v2/models/m/versions/2/infer", new { inputs = Array.Empty<object>() }))
        {
            Assert.True(rest.IsSuccessStatusCode);
        }

        var text = await fixture.Metrics.GetStringAsync("/metrics");

        Assert.Contains("maas_gateway_requests_total{model=\"m\",version=\"1\",protocol=\"grpc\",code=\"OK\"}", text);
        Assert.Contains("maas_gateway_requests_total{model=\"_unknown\",version=\"\",protocol=\"grpc\",code=\"NotFound\"}", text);
        Assert.Contains("maas_gateway_requests_total{model=\"m\",version=\"2\",protocol=\"rest\",code=\"200\"}", text);
        Assert.Contains("maas_gateway_request_seconds_bucket{model=\"m\",version=\"1\",protocol=\"grpc\"", text);
        Assert.DoesNotContain("made-up-model-42", text);
    }

    [Fact]
    public async Task Metrics_ReplicaGoneSincePoll_CountsUpstreamError()
    {
        var (replica, options) = await TestHosts.StartReplicaAsync("replica-gone", 7);
        var metricsPort = TestHosts.FreePort();
        // One poll at start, the next only in ten minutes: the gateway keeps believing the replica is there.
        var (gateway, grpcPort, _) = await TestHosts.StartGatewayAsync([options], registry: null, pollIntervalMs: 600_000, metricsPort);
        try
        {
            await TestHosts.WaitUntilAsync(gateway, t => t.Resolve("m", "7").Outcome == RouteOutcome.Found);
            await replica.StopAsync();
            await replica.DisposeAsync();

            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
            var error = await Assert.ThrowsAsync<RpcException>(() => new GRPCInferenceService.GRPCInferenceServiceClient(channel)
                .ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = "7" }).ResponseAsync);
            using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };
            var text = await metrics.GetStringAsync("/metrics");

            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
            Assert.Contains("maas_gateway_upstream_errors_total{replica=\"replica-gone\"}", text);
            Assert.Contains("maas_gateway_requests_total{model=\"m\",version=\"7\",protocol=\"grpc\",code=\"Unavailable\"}", text);
        }
        finally
        {
            await gateway.StopAsync();
            await gateway.DisposeAsync();
        }
    }
}
