using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Gateway.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Gateway.Tests;

/// <summary>
/// Two replica doubles serving m v1, one of which answers every ModelInfer Unavailable (trailers-only),
/// behind the real gateway on real sockets.
/// </summary>
public sealed class RetryTests : IAsyncLifetime
{
    private readonly List<WebApplication> _hosts = [];
    private FakeReplica.Identity _bad = null!;
    private FakeReplica.Identity _good = null!;
    private ReplicaOptions _badOptions = null!;
    private ReplicaOptions _goodOptions = null!;

    public async Task InitializeAsync()
    {
        var (bad, badOptions) = await TestHosts.StartReplicaAsync("replica-bad", unavailable: true, 1);
        var (good, goodOptions) = await TestHosts.StartReplicaAsync("replica-good", unavailable: false, 1);
        _hosts.AddRange([bad, good]);
        (_bad, _good, _badOptions, _goodOptions) = (bad.Services.GetRequiredService<FakeReplica.Identity>(),
            good.Services.GetRequiredService<FakeReplica.Identity>(), badOptions, goodOptions);
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
    }

    private async Task<(GrpcChannel Channel, HttpClient Metrics)> StartGatewayAsync(int retryBufferBytes)
    {
        var metricsPort = TestHosts.FreePort();
        var (gateway, grpcPort, _) = await TestHosts.StartGatewayAsync([_badOptions, _goodOptions], registry: null, pollIntervalMs: 100, metricsPort,
            new Dictionary<string, string?> { ["Gateway:RetryBufferBytes"] = retryBufferBytes.ToString() });
        _hosts.Insert(0, gateway);
        await TestHosts.WaitUntilAsync(gateway, t => t.Resolve("m", "1") is { Outcome: RouteOutcome.Found, Destinations.Count: 2 });
        return (GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}"),
            new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") });
    }

    private static ModelInferRequest Request(int rawBytes) => new()
    {
        ModelName = "m",
        ModelVersion = "1",
        RawInputContents = { ByteString.CopyFrom(Enumerable.Range(0, rawBytes).Select(i => (byte)i).ToArray()) },
    };

    [Fact]
    public async Task ModelInfer_ReplicaAnswersUnavailable_RetriedOnOtherReplicaWithWholeBody()
    {
        var (channel, metrics) = await StartGatewayAsync(retryBufferBytes: 4 * 1024 * 1024);
        using (channel)
        using (metrics)
        {
            var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
            var request = Request(100_000);
            for (var i = 0; i < 20; i++)
            {
                var response = await client.ModelInferAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
                Assert.Equal("replica-good", response.Parameters["replica"].StringParam);
                Assert.Equal(100_000, response.Parameters["raw_bytes"].Int64Param);
                Assert.Equal(FakeReplica.Checksum(request.RawInputContents), response.Parameters["raw_checksum"].Int64Param);
            }

            // Round-robin puts the Unavailable replica first about half the time; each of those was retried.
            Assert.True(_bad.InferCalls > 0, "The Unavailable replica was never tried first.");
            Assert.Equal(20, _good.InferCalls);
            var text = await metrics.GetStringAsync("/metrics");
            Assert.Contains($"maas_gateway_retries_total{{reason=\"unavailable\"}} {_bad.InferCalls}", text);
        }
    }

    [Fact]
    public async Task ModelInfer_BodyOverRetryBuffer_UnavailableReachesCaller()
    {
        var (channel, metrics) = await StartGatewayAsync(retryBufferBytes: 1024);
        using (channel)
        using (metrics)
        {
            var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
            var codes = new List<StatusCode>();
            for (var i = 0; i < 20; i++)
            {
                try
                {
                    var response = await client.ModelInferAsync(Request(10_000));
                    Assert.Equal("replica-good", response.Parameters["replica"].StringParam);
                    codes.Add(StatusCode.OK);
                }
                catch (RpcException e)
                {
                    codes.Add(e.StatusCode);
                }
            }

            // Too large to hold for a retry: the replica's Unavailable goes back to the caller as it is.
            Assert.Contains(StatusCode.Unavailable, codes);
            Assert.Contains(StatusCode.OK, codes);
            Assert.All(codes, c => Assert.True(c is StatusCode.OK or StatusCode.Unavailable, $"unexpected {c}"));
        }
    }
}
