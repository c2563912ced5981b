using MaaS.Gateway.Routing;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Tests;

public sealed class RoutingTableTests
{
    private static readonly ReplicaOptions A = Replica("a");
    private static readonly ReplicaOptions B = Replica("b");

    [Fact]
    public void Resolve_EmptyVersion_FollowsProductionAlias()
    {
        var table = Table(A, B);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportReplicaUp("b", [new("m", 2)]);
        table.ReportRegistry(Aliases("m", ("production", 1)));

        var route = table.Resolve("m", "");

        Assert.Equal(RouteOutcome.Found, route.Outcome);
        Assert.Equal(1, route.Version);
        Assert.True(route.ResolvedByGateway);
        Assert.Equal(["a"], route.Destinations.Select(d => d.Name));
    }

    [Fact]
    public void Resolve_EmptyVersionWithoutProductionAlias_NewestReadyVersion()
    {
        var table = Table(A, B);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportReplicaUp("b", [new("m", 2)]);

        var route = table.Resolve("m", "");

        Assert.Equal(2, route.Version);
        Assert.Equal(["b"], route.Destinations.Select(d => d.Name));
    }

    [Fact]
    public void Resolve_Number_PinsThatVersion()
    {
        var table = Table(A, B);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportReplicaUp("b", [new("m", 2)]);
        table.ReportRegistry(Aliases("m", ("production", 2)));

        var route = table.Resolve("m", "1");

        Assert.Equal(1, route.Version);
        Assert.False(route.ResolvedByGateway);
        Assert.Equal(["a"], route.Destinations.Select(d => d.Name));
    }

    [Fact]
    public void Resolve_Alias_UsesTheRegistryTarget()
    {
        var table = Table(A, B);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportReplicaUp("b", [new("m", 2)]);
        table.ReportRegistry(Aliases("m", ("production", 1), ("staging", 2)));

        var route = table.Resolve("m", "staging");

        Assert.Equal(2, route.Version);
        Assert.True(route.ResolvedByGateway);
        Assert.Equal(["b"], route.Destinations.Select(d => d.Name));
    }

    [Fact]
    public void Resolve_VersionReadyNowhere_Unavailable()
    {
        var table = Table(A);
        table.ReportReplicaUp("a", [new("m", 1)]);

        var route = table.Resolve("m", "5");

        Assert.Equal(RouteOutcome.Unavailable, route.Outcome);
        Assert.Equal(Grpc.Core.StatusCode.Unavailable, route.GrpcStatus);
        Assert.Equal("model 'm' version '5' is not ready on any replica", route.Error);
    }

    [Fact]
    public void Resolve_UnknownModel_NotFound()
    {
        var table = Table(A);
        table.ReportReplicaUp("a", [new("m", 1)]);

        var route = table.Resolve("other", "");

        Assert.Equal(RouteOutcome.NotFound, route.Outcome);
        Assert.Equal("model 'other' is unknown", route.Error);
    }

    [Fact]
    public void Resolve_UnknownAlias_NotFound()
    {
        var table = Table(A);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportRegistry(Aliases("m", ("production", 1)));

        var route = table.Resolve("m", "canary");

        Assert.Equal(RouteOutcome.NotFound, route.Outcome);
        Assert.Equal("model 'm' has no alias 'canary'", route.Error);
    }

    [Fact]
    public void Resolve_ProductionVersionNotLoaded_Unavailable()
    {
        var table = Table(A);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportRegistry(Aliases("m", ("production", 2)));

        var route = table.Resolve("m", "");

        Assert.Equal(RouteOutcome.Unavailable, route.Outcome);
        Assert.Equal("model 'm' version '2' is not ready on any replica", route.Error);
    }

    [Fact]
    public void Resolve_TwoReplicasWithTheVersion_RoundRobin()
    {
        var table = Table(A, B);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportReplicaUp("b", [new("m", 1)]);

        var firsts = Enumerable.Range(0, 4).Select(_ => table.Resolve("m", "1").Destinations[0].Name).ToList();

        Assert.Equal(["a", "b", "a", "b"], firsts);
        Assert.Equal(2, table.Resolve("m", "1").Destinations.Count);
    }

    [Fact]
    public void Resolve_ReplicaThatStoppedAnswering_IsOutUntilItAnswersAgain()
    {
        var table = Table(A, B);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportReplicaUp("b", [new("m", 1)]);

        table.ReportReplicaDown("a");
        var whileDown = Enumerable.Range(0, 3).Select(_ => table.Resolve("m", "1").Destinations.Single().Name).Distinct().ToList();
        table.ReportReplicaUp("a", [new("m", 1)]);

        Assert.Equal(["b"], whileDown);
        Assert.Equal(2, table.Resolve("m", "1").Destinations.Count);
    }

    [Fact]
    public void AnyReplicaReady_BeforeFirstPoll_IsFalse()
    {
        var table = Table(A);

        Assert.False(table.AnyReplicaReady);
        table.ReportReplicaUp("a", [new("m", 1)]);
        Assert.True(table.AnyReplicaReady);
    }

    [Fact]
    public void Resolve_EmptyVersionWithDeployment_SplitsNinetyTen()
    {
        var table = Table(A, B);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportReplicaUp("b", [new("m", 2)]);
        table.ReportRegistry(Aliases("m", ("production", 1)));
        table.ReportDeployments(Deployment("m", (1, 90), (2, 10)));

        var shares = Shares(table, 10_000);

        Assert.InRange(shares[1], 0.875, 0.925);
        Assert.InRange(shares[2], 0.075, 0.125);
    }

    [Fact]
    public void Resolve_EmptyVersionWithDeployment_SplitsFiftyThirtyTwenty()
    {
        var table = Table(A, B);
        table.ReportReplicaUp("a", [new("m", 1), new("m", 3)]);
        table.ReportReplicaUp("b", [new("m", 2)]);
        table.ReportDeployments(Deployment("m", (1, 50), (2, 30), (3, 20)));

        var shares = Shares(table, 10_000);

        Assert.InRange(shares[1], 0.47, 0.53);
        Assert.InRange(shares[2], 0.27, 0.33);
        Assert.InRange(shares[3], 0.17, 0.23);
    }

    [Fact]
    public void Resolve_DeployedVersionNotReady_ItsWeightGoesToTheOthers()
    {
        var table = Table(A, B);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportReplicaUp("b", [new("m", 3)]);
        table.ReportDeployments(Deployment("m", (1, 50), (2, 30), (3, 20)));

        var shares = Shares(table, 10_000);

        Assert.False(shares.ContainsKey(2));
        Assert.InRange(shares[1], 50.0 / 70 - 0.03, 50.0 / 70 + 0.03);
        Assert.InRange(shares[3], 20.0 / 70 - 0.03, 20.0 / 70 + 0.03);
    }

    [Fact]
    public void Resolve_NoDeployedVersionReady_Unavailable()
    {
        var table = Table(A);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportDeployments(Deployment("m", (2, 100)));

        var route = table.Resolve("m", "");

        Assert.Equal(RouteOutcome.Unavailable, route.Outcome);
        Assert.Contains("no deployed version ready", route.Error);
        // A pinned number still reaches what is ready.
        Assert.Equal(RouteOutcome.Found, table.Resolve("m", "1").Outcome);
    }

    [Fact]
    public void Resolve_SameRouteKey_SameVersionWhileDifferentKeysSplit()
    {
        var table = Table(A, B);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportReplicaUp("b", [new("m", 2)]);
        table.ReportDeployments(Deployment("m", (1, 50), (2, 50)));

        for (var caller = 0; caller < 50; caller++)
        {
            var key = $"caller-{caller}";
            var first = table.Resolve("m", "", key).Version;
            Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal(first, table.Resolve("m", "", key).Version));
        }
        var versions = Enumerable.Range(0, 1000).Select(i => table.Resolve("m", "", $"caller-{i}").Version).ToList();
        Assert.InRange(versions.Count(v => v == 1), 400, 600);
    }

    [Fact]
    public void Resolve_NumberWithDeployment_PinsThatVersion()
    {
        var table = Table(A, B);
        table.ReportReplicaUp("a", [new("m", 1)]);
        table.ReportReplicaUp("b", [new("m", 2)]);
        table.ReportDeployments(Deployment("m", (1, 100)));

        Assert.Equal(2, table.Resolve("m", "2").Version);
    }

    [Fact]
    public void Validate_BadReplicaAddress_NamesTheEntry()
    {
        var options = new GatewayOptions { Replicas = [A, new ReplicaOptions { Name = "b", GrpcAddress = "127.0.0.1:7101", RestAddress = B.RestAddress }] };

        var result = new GatewayOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("Gateway:Replicas:1:GrpcAddress", StringComparison.Ordinal) && f.Contains("'127.0.0.1:7101'"));
    }

    [Fact]
    public void Validate_NoReplicas_Fails()
    {
        var result = new GatewayOptionsValidator().Validate(null, new GatewayOptions());

        Assert.True(result.Failed);
    }

    private static RoutingTable Table(params ReplicaOptions[] replicas) =>
        new(Options.Create(new GatewayOptions { Replicas = [.. replicas] }));

    private static ReplicaOptions Replica(string name) => new()
    {
        Name = name,
        GrpcAddress = "http://127.0.0.1:17301",
        RestAddress = "http://127.0.0.1:17302",
    };

    private static Dictionary<long, double> Shares(RoutingTable table, int picks)
    {
        var counts = new Dictionary<long, double>();
        for (var i = 0; i < picks; i++)
        {
            var route = table.Resolve("m", "");
            Assert.Equal(RouteOutcome.Found, route.Outcome);
            Assert.True(route.ResolvedByGateway);
            counts[route.Version] = counts.GetValueOrDefault(route.Version) + (1.0 / picks);
        }
        return counts;
    }

    private static Dictionary<string, DeploymentView> Deployment(string model, params (long Version, int Weight)[] entries) =>
        new() { [model] = new DeploymentView(1, [.. entries.Select(e => new WeightedVersion(e.Version, e.Weight))]) };

    private static Dictionary<string, IReadOnlyDictionary<string, long>> Aliases(string model, params (string Alias, long Version)[] aliases) =>
        new() { [model] = aliases.ToDictionary(a => a.Alias, a => a.Version) };
}
