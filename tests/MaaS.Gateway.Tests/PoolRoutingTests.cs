using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Contracts;
using MaaS.Gateway.Routing;
using MaaS.Registry.V1;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Tests;

/// <summary>Pools, membership from DNS, passive ejection, and deployment events that refresh routing at once.</summary>
public sealed class PoolRoutingTests
{
    private static readonly ReplicaOptions CpuA = Replica("cpu-a", "cpu");
    private static readonly ReplicaOptions GpuA = Replica("gpu-a", "gpu");

    [Fact]
    public void Resolve_DeploymentEntryNamesPool_OnlyThatPoolsReplicas()
    {
        var table = Table(CpuA, GpuA);
        table.ReportReplicaUp("cpu-a", [new("m", 1)]);
        table.ReportReplicaUp("gpu-a", [new("m", 1)]);
        table.ReportDeployments(Deployment(new WeightedVersion(1, 100, "gpu")));

        var routes = Enumerable.Range(0, 20).Select(_ => table.Resolve("m", "")).ToList();

        Assert.All(routes, r => Assert.Equal(["gpu-a"], r.Destinations.Select(d => d.Name)));
    }

    [Fact]
    public void Resolve_PoolOfTheEntryHasNoReadyReplica_UnavailableNamingModelVersionAndPool()
    {
        var table = Table(CpuA, GpuA);
        table.ReportReplicaUp("cpu-a", [new("m", 1)]);
        table.ReportReplicaUp("gpu-a", [new("m", 2)]);
        table.ReportDeployments(Deployment(new WeightedVersion(1, 100, "gpu")));

        var route = table.Resolve("m", "");

        Assert.Equal(RouteOutcome.Unavailable, route.Outcome);
        Assert.Equal(StatusCode.Unavailable, route.GrpcStatus);
        Assert.Equal(503, route.HttpStatus);
        Assert.Contains("model 'm'", route.Error);
        Assert.Contains("version 1 on pool 'gpu'", route.Error);
    }

    [Fact]
    public void Resolve_SplitAcrossPools_EachShareServedByItsPool()
    {
        var table = Table(CpuA, GpuA);
        table.ReportReplicaUp("cpu-a", [new("m", 1), new("m", 2)]);
        table.ReportReplicaUp("gpu-a", [new("m", 1), new("m", 2)]);
        table.ReportDeployments(Deployment(new WeightedVersion(1, 50, "cpu"), new WeightedVersion(2, 50, "gpu")));

        var routes = Enumerable.Range(0, 200).Select(_ => table.Resolve("m", "")).ToList();

        Assert.All(routes, r => Assert.Equal(r.Version == 1 ? "cpu-a" : "gpu-a", Assert.Single(r.Destinations).Name));
        Assert.Contains(routes, r => r.Version == 1);
        Assert.Contains(routes, r => r.Version == 2);
    }

    [Fact]
    public void Resolve_PinnedVersionRegisteredButNotReady_UnavailableBeyondLatest_NotFound()
    {
        var table = Table(CpuA);
        table.ReportReplicaUp("cpu-a", [new("m", 1)]);
        table.ReportRegistry(new Dictionary<string, IReadOnlyDictionary<string, long>> { ["m"] = new Dictionary<string, long>() },
            new Dictionary<string, long> { ["m"] = 3 });

        var registeredNotReady = table.Resolve("m", "3");
        var beyondLatest = table.Resolve("m", "4");
        var zero = table.Resolve("m", "0");

        Assert.Equal(RouteOutcome.Unavailable, registeredNotReady.Outcome);
        Assert.Equal("model 'm' version '3' is not ready on any replica", registeredNotReady.Error);
        Assert.Equal(RouteOutcome.NotFound, beyondLatest.Outcome);
        Assert.Equal("model 'm' has no version 4", beyondLatest.Error);
        Assert.Equal(RouteOutcome.NotFound, zero.Outcome);
    }

    [Fact]
    public void Resolve_PinnedVersion_AnyPoolThatHasItReady()
    {
        var table = Table(CpuA, GpuA);
        table.ReportReplicaUp("cpu-a", [new("m", 1)]);
        table.ReportReplicaUp("gpu-a", [new("m", 1)]);
        table.ReportDeployments(Deployment(new WeightedVersion(1, 100, "gpu")));

        var route = table.Resolve("m", "1");

        Assert.Equal(["cpu-a", "gpu-a"], route.Destinations.Select(d => d.Name).Order());
    }

    [Fact]
    public void EjectReplica_TakesItOutUntilItsNextAnsweredPoll()
    {
        var table = Table(CpuA, GpuA);
        table.ReportReplicaUp("cpu-a", [new("m", 1)]);
        table.ReportReplicaUp("gpu-a", [new("m", 1)]);

        Assert.True(table.EjectReplica("cpu-a"));
        Assert.Equal(["gpu-a"], table.Resolve("m", "1").Destinations.Select(d => d.Name));
        Assert.False(table.EjectReplica("cpu-a"));
        Assert.False(table.EjectReplica("never-was"));

        table.ReportReplicaUp("cpu-a", [new("m", 1)]);
        Assert.Equal(2, table.Resolve("m", "1").Destinations.Count);
    }

    [Fact]
    public void SetMembers_KeepsStayingReplicasAddsNewOnesOutDropsLeavers()
    {
        var table = Table(CpuA, GpuA);
        table.ReportReplicaUp("cpu-a", [new("m", 1)]);
        table.ReportReplicaUp("gpu-a", [new("m", 1)]);
        var newcomer = Replica("cpu-b", "cpu");

        Assert.True(table.SetMembers([CpuA, newcomer]));

        Assert.Equal(["cpu-a", "cpu-b"], table.Replicas.Select(r => r.Replica.Name));
        Assert.True(table.Replicas[0].Live);
        Assert.False(table.Replicas[1].Live);
        Assert.Equal(["cpu-a"], table.Resolve("m", "1").Destinations.Select(d => d.Name));
        Assert.False(table.SetMembers([CpuA, newcomer]));
        // A poll answer from a replica that has left changes nothing.
        Assert.False(table.ReportReplicaUp("gpu-a", [new("m", 1)]));
    }

    [Fact]
    public async Task ReplicaDirectory_DnsEntry_OneReplicaPerAddressAndKeepsThemWhenDnsFails()
    {
        var entry = new ReplicaOptions
        {
            Name = "pool-x", Pool = "cpu", ResolveDns = true,
            GrpcAddress = "http://inference.internal:7101", RestAddress = "http://inference.internal:7111",
        };
        var directory = new ReplicaDirectory(Options.Create(new GatewayOptions { Replicas = [CpuA, entry] }), NullLogger<ReplicaDirectory>.Instance);
        var fail = false;
        directory.Resolve = (host, _) => fail
            ? throw new SocketException((int)SocketError.HostNotFound)
            : Task.FromResult(host == "inference.internal" ? new[] { IPAddress.Parse("10.0.0.7"), IPAddress.Parse("10.0.0.5") } : []);

        var members = await directory.CurrentAsync(CancellationToken.None);
        fail = true;
        var afterFailure = await directory.CurrentAsync(CancellationToken.None);

        Assert.Equal(["cpu-a", "pool-x@10.0.0.5", "pool-x@10.0.0.7"], members.Select(m => m.Name));
        Assert.Equal("http://10.0.0.5:7101", members[1].GrpcAddress);
        Assert.Equal("http://10.0.0.5:7111", members[1].RestAddress);
        Assert.Equal("cpu", members[1].Pool);
        Assert.Equal(members.Select(m => m.Name), afterFailure.Select(m => m.Name));
    }

    [Fact]
    public async Task Gateway_DnsEntryForLocalhost_RoutesToTheResolvedReplica()
    {
        var (replica, options) = await TestHosts.StartReplicaAsync("dns-replica", 4);
        var dns = new ReplicaOptions
        {
            Name = "by-name", ResolveDns = true,
            GrpcAddress = options.GrpcAddress.Replace("127.0.0.1", "localhost"),
            RestAddress = options.RestAddress.Replace("127.0.0.1", "localhost"),
        };
        var (gateway, grpcPort, _) = await TestHosts.StartGatewayAsync([dns], registry: null, pollIntervalMs: 100);
        try
        {
            await TestHosts.WaitUntilAsync(gateway, t => t.Resolve("m", "4").Outcome == RouteOutcome.Found);
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");

            var answer = await new GRPCInferenceService.GRPCInferenceServiceClient(channel)
                .ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = "4" });

            Assert.Equal("4", answer.ModelVersion);
            Assert.Contains(gateway.Services.GetRequiredService<RoutingTable>().Replicas,
                r => r.Replica.Name == "by-name@127.0.0.1" && r.Live);
        }
        finally
        {
            await gateway.StopAsync();
            await gateway.DisposeAsync();
            await replica.StopAsync();
            await replica.DisposeAsync();
        }
    }

    [Fact]
    public async Task Gateway_DeploymentChangedEvent_RoutesByTheNewDeploymentBeforeTheNextPoll()
    {
        var (a, replicaA) = await TestHosts.StartReplicaAsync("replica-a", 1);
        var (b, replicaB) = await TestHosts.StartReplicaAsync("replica-b", 2);
        var (registry, registryAddress) = await TestHosts.StartRegistryAsync(DeploymentOf(1));
        // A poll interval far longer than the test: only the event can make the gateway look again.
        var (gateway, grpcPort, _) = await TestHosts.StartGatewayAsync([replicaA, replicaB], registryAddress, pollIntervalMs: 600_000);
        try
        {
            await TestHosts.WaitUntilAsync(gateway, t => t.Deployments.TryGetValue("m", out var d) && d.Revision == 1);
            registry.Services.GetRequiredService<FakeRegistry.Deployments>().ForM = DeploymentOf(2);

            await gateway.Services.GetRequiredService<IPublishEndpoint>().Publish(new DeploymentChanged { ModelName = "m", Revision = 2 });

            await TestHosts.WaitUntilAsync(gateway, t => t.Deployments.TryGetValue("m", out var d) && d.Revision == 2
                && t.Resolve("m", "2").Outcome == RouteOutcome.Found);
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
            var answer = await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(new ModelInferRequest { ModelName = "m" });
            Assert.Equal("2", answer.ModelVersion);
        }
        finally
        {
            foreach (var host in new[] { gateway, a, b, registry })
            {
                await host.StopAsync();
                await host.DisposeAsync();
            }
        }
    }

    private static Registry.V1.Deployment DeploymentOf(long version) => new()
    {
        ModelName = "m",
        Revision = version,
        Entries = { new DeploymentEntry { Version = version, Pool = "default", Weight = 100 } },
    };

    private static RoutingTable Table(params ReplicaOptions[] replicas) =>
        new(Options.Create(new GatewayOptions { Replicas = [.. replicas] }));

    private static ReplicaOptions Replica(string name, string pool) => new()
    {
        Name = name,
        Pool = pool,
        GrpcAddress = $"http://127.0.0.1:{17400 + name.Length}",
        RestAddress = $"http://127.0.0.1:{17500 + name.Length}",
    };

    private static Dictionary<string, DeploymentView> Deployment(params WeightedVersion[] entries) =>
        new() { ["m"] = new DeploymentView(1, entries) };
}
