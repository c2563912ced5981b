using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Net.Client;
using Inference;
using MaaS.Gateway.Routing;
using MaaS.Registry.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Gateway.Tests;

/// <summary>
/// m is deployed 100 % on v1 (replica "primary") with a 50 % shadow on v2 (replica "shadow", which answers
/// every ModelInfer Unavailable), behind the real gateway on real sockets.
/// </summary>
public sealed class ShadowTests : IAsyncLifetime
{
    private readonly List<WebApplication> _hosts = [];
    private FakeReplica.Identity _shadow = null!;
    private GrpcChannel _channel = null!;
    private HttpClient _metrics = null!;

    public async Task InitializeAsync()
    {
        var (primary, primaryOptions) = await TestHosts.StartReplicaAsync("primary", unavailable: false, 1);
        var (shadow, shadowOptions) = await TestHosts.StartReplicaAsync("shadow", unavailable: true, 2);
        _shadow = shadow.Services.GetRequiredService<FakeReplica.Identity>();
        var deployment = new Deployment
        {
            ModelName = "m",
            Revision = 1,
            Entries = { new DeploymentEntry { Version = 1, Pool = "default", Weight = 100 } },
            Shadow = new ShadowTarget { Version = 2, Percent = 50 },
        };
        var (registry, registryAddress) = await TestHosts.StartRegistryAsync(deployment);
        var metricsPort = TestHosts.FreePort();
        var (gateway, grpcPort, _) = await TestHosts.StartGatewayAsync([primaryOptions, shadowOptions], registryAddress, pollIntervalMs: 100, metricsPort);
        _hosts.AddRange([gateway, primary, shadow, registry]);
        await TestHosts.WaitUntilAsync(gateway, t =>
            t.Deployments.TryGetValue("m", out var d) && d.Shadow is not null && t.Resolve("m", "2").Outcome == RouteOutcome.Found);
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        _metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        _metrics.Dispose();
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
    }

    private async Task<int> ShadowOutcomeCountAsync(string outcome)
    {
        var text = await _metrics.GetStringAsync("/metrics");
        var match = Regex.Match(text, $"maas_gateway_shadow_requests_total\\{{model=\"m\",version=\"2\",outcome=\"{outcome}\"\\}} (\\d+)");
        return match.Success ? int.Parse(match.Groups[1].Value) : 0;
    }

    [Fact]
    public async Task ModelInfer_ShadowDeployed_CallerGetsPrimaryAndShadowGetsItsShare()
    {
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
        var request = new ModelInferRequest { ModelName = "m", RawInputContents = { ByteString.CopyFrom(new byte[1000]) } };
        for (var i = 0; i < 200; i++)
        {
            var response = await client.ModelInferAsync(request);
            // Never the shadow's answer (which is Unavailable), always the primary's.
            Assert.Equal("primary", response.Parameters["replica"].StringParam);
            Assert.Equal("1", response.ModelVersion);
        }

        // Copies are sent in the background after each answer: wait (bounded) until every one sent is recorded.
        var settled = 0;
        for (var i = 0; i < 200 && settled < 5; i++)
        {
            await Task.Delay(50);
            var recorded = await ShadowOutcomeCountAsync("Unavailable");
            settled = recorded > 0 && recorded == Volatile.Read(ref _shadow.InferCalls) ? settled + 1 : 0;
        }

        Assert.Equal(5, settled);
        Assert.InRange(_shadow.InferCalls, 60, 140);
        Assert.Equal(0, await ShadowOutcomeCountAsync("dropped"));
        Assert.Contains("maas_gateway_shadow_seconds_count{model=\"m\",version=\"2\"}", await _metrics.GetStringAsync("/metrics"));
    }
}
