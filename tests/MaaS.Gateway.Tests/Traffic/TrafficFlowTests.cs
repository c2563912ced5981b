using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Contracts;
using MaaS.Gateway.Routing;
using MaaS.Gateway.Traffic;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Gateway.Tests.Traffic;

/// <summary>
/// The counts are process-wide (like the Prometheus registry), so the tests that send traffic through a real
/// gateway and read its TrafficObserved events run alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TrafficCollection
{
    /// <summary>Collection name.</summary>
    public const string Name = "traffic (runs alone)";
}

/// <summary>
/// Calls through the real gateway on real sockets: version 1 on a healthy replica, version 2 on one that answers
/// every ModelInfer Unavailable; the gateway's TrafficObserved windows, read from its in-memory bus, count both.
/// </summary>
[Collection(TrafficCollection.Name)]
public sealed class TrafficFlowTests : IAsyncLifetime
{
    private readonly List<WebApplication> hosts = [];
    private readonly ConcurrentQueue<TrafficObserved> observed = new();
    private GrpcChannel channel = null!;

    public async Task InitializeAsync()
    {
        // Calls other tests left uncounted must not mix into these windows.
        TrafficRecorder.Shared.Take(DateTimeOffset.UtcNow, TimeSpan.Zero);
        var (good, goodOptions) = await TestHosts.StartReplicaAsync("good", unavailable: false, 1);
        var (bad, badOptions) = await TestHosts.StartReplicaAsync("bad", unavailable: true, 2);
        var (gateway, grpcPort, _) = await TestHosts.StartGatewayAsync([goodOptions, badOptions], registry: null, pollIntervalMs: 100,
            extraSettings: new Dictionary<string, string?> { ["Gateway:Traffic:IntervalMilliseconds"] = "100", ["Gateway:Traffic:Source"] = "gw-flow" });
        hosts.AddRange([gateway, good, bad]);
        var endpoint = gateway.Services.GetRequiredService<IBus>().ConnectReceiveEndpoint("traffic-flow-test", e =>
            e.Handler<TrafficObserved>(context =>
            {
                observed.Enqueue(context.Message);
                return Task.CompletedTask;
            }));
        await endpoint.Ready;
        await TestHosts.WaitUntilAsync(gateway, t => t.Resolve("m", "1").Outcome == RouteOutcome.Found && t.Resolve("m", "2").Outcome == RouteOutcome.Found);
        channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
    }

    public async Task DisposeAsync()
    {
        channel.Dispose();
        foreach (var host in hosts)
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task ModelInfer_HealthyAndFailingVersion_WindowsCountCallsErrorsAndLatencies()
    {
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        for (var i = 0; i < 20; i++)
        {
            await client.ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = "1" });
        }
        for (var i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = "2" }).ResponseAsync);
        }

        var until = DateTime.UtcNow.AddSeconds(30);
        while (Sum(1, w => w.Requests) < 20 || Sum(2, w => w.Requests) < 5)
        {
            Assert.True(DateTime.UtcNow < until,
                $"Within 30 s the gateway published {Sum(1, w => w.Requests)} of 20 calls of version 1 and {Sum(2, w => w.Requests)} of 5 of version 2.");
            await Task.Delay(50);
        }

        Assert.Equal(20, Sum(1, w => w.Requests));
        Assert.Equal(0, Sum(1, w => w.Errors));
        Assert.Equal(20, Sum(1, w => w.LatencyBuckets.Sum()));
        Assert.Equal(5, Sum(2, w => w.Errors));
        Assert.All(observed, w =>
        {
            Assert.Equal("gw-flow", w.Source);
            Assert.Equal(TrafficObserved.LatencyBoundsMs.Length + 1, w.LatencyBuckets.Length);
            Assert.True(w.WindowStart <= w.WindowEnd);
        });
    }

    private long Sum(long version, Func<TrafficObserved, long> value) => observed.Where(w => w.ModelName == "m" && w.Version == version).Sum(value);
}
