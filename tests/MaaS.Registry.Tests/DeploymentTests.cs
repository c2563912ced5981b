using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.Tests.Stores;
using MaaS.Registry.V1;

namespace MaaS.Registry.Tests;

/// <summary>Runs on every metadata store: <see cref="OnSqlite"/> and <see cref="OnPostgres"/> (a real PostgreSQL server).</summary>
public abstract class DeploymentTests(RegistryStore store)
{
    [Fact]
    public async Task GetDeployment_NeverDeployed_RevisionZeroWithoutEntries()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");

        var deployment = (await host.Client.GetDeploymentAsync(new GetDeploymentRequest { ModelName = "linear" })).Deployment;

        Assert.Equal(("linear", 0L), (deployment.ModelName, deployment.Revision));
        Assert.Empty(deployment.Entries);
        Assert.Null(deployment.Shadow);
    }

    [Fact]
    public async Task GetDeployment_UnknownModel_NotFound()
    {
        await using var host = new RegistryHost(store);

        await Expect.Status(StatusCode.NotFound,
            () => host.Client.GetDeploymentAsync(new GetDeploymentRequest { ModelName = "ghost" }).ResponseAsync, "'ghost' does not exist");
    }

    [Fact]
    public async Task SetDeployment_CanaryWithShadow_RevisionOneReadBackAndFullStateInEvent()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 3);
        await host.RegisterAsync("linear", RegistryHost.Bytes(64, seed: 99), lineage: new Lineage { TrainingJobId = "job-4" });

        var set = await host.Client.SetDeploymentAsync(Request("linear", [(4, "pool-a", 90), (2, "pool-b", 10)], shadow: (3, 25),
            actor: "updater", reason: "canary"));
        var read = (await host.Client.GetDeploymentAsync(new GetDeploymentRequest { ModelName = "linear" })).Deployment;

        Assert.True(set.Changed);
        Assert.Equal(1, set.Deployment.Revision);
        Assert.Equal(set.Deployment, read);
        Assert.Equal([(4L, "pool-a", 90), (2L, "pool-b", 10)], read.Entries.Select(e => (e.Version, e.Pool, e.Weight)));
        Assert.Equal((3L, 25), (read.Shadow.Version, read.Shadow.Percent));
        Assert.Equal(("updater", "canary"), (read.Actor, read.Reason));
        var evt = Assert.Single(host.OutboxEvents<DeploymentChanged>());
        Assert.Equal(("linear", 1L, "updater", "canary"), (evt.ModelName, evt.Revision, evt.Actor, evt.Reason));
        Assert.Equal([(4L, "pool-a", 90), (2L, "pool-b", 10)], evt.Entries.Select(e => (e.Version, e.Pool, e.Weight)));
        Assert.Equal((3L, 25), (evt.Shadow!.Version, evt.Shadow.Percent));
        Assert.Equal("job-4", evt.CorrelationId); // the heaviest entry's training job
        Assert.True(await host.Harness.Published.Any<DeploymentChanged>(m => m.Context.Message.Revision == 1));
    }

    [Fact]
    public async Task SetDeployment_ThreeChanges_HistoryKeepsEveryRevisionNewestFirstInPages()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 2);
        await host.Client.SetDeploymentAsync(Request("linear", [(1, "default", 100)]));
        await host.Client.SetDeploymentAsync(Request("linear", [(1, "default", 80), (2, "default", 20)]));
        await host.Client.SetDeploymentAsync(Request("linear", [(2, "default", 100)], shadow: (1, 5)));

        var first = await host.Client.GetDeploymentHistoryAsync(new GetDeploymentHistoryRequest { ModelName = "linear", PageSize = 2 });
        var second = await host.Client.GetDeploymentHistoryAsync(new GetDeploymentHistoryRequest
        {
            ModelName = "linear", PageSize = 2, PageToken = first.NextPageToken,
        });

        Assert.Equal([3L, 2L], first.Deployments.Select(d => d.Revision));
        Assert.Equal([1L], second.Deployments.Select(d => d.Revision));
        Assert.Equal("", second.NextPageToken);
        Assert.Equal([(1L, 80), (2L, 20)], first.Deployments[1].Entries.Select(e => (e.Version, e.Weight)));
        Assert.Equal(5, first.Deployments[0].Shadow.Percent);
        Assert.Null(second.Deployments[0].Shadow);
        Assert.Equal([1L, 2L, 3L], host.OutboxEvents<DeploymentChanged>().Select(e => e.Revision));
    }

    [Fact]
    public async Task SetDeployment_SameStateAgain_NoNewRevisionNoEvent()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 1);
        await host.Client.SetDeploymentAsync(Request("linear", [(1, "default", 100)]));

        var again = await host.Client.SetDeploymentAsync(Request("linear", [(1, "default", 100)]));

        Assert.False(again.Changed);
        Assert.Equal(1, again.Deployment.Revision);
        Assert.Single(host.OutboxEvents<DeploymentChanged>());
    }

    [Fact]
    public async Task SetDeployment_StaleExpectedRevision_FailedPreconditionNothingChanged()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 2);
        await host.Client.SetDeploymentAsync(Request("linear", [(1, "default", 100)]));
        await host.Client.SetDeploymentAsync(Request("linear", [(2, "default", 100)]));

        var stale = Request("linear", [(1, "default", 50), (2, "default", 50)]);
        stale.ExpectedRevision = 1;
        await Expect.Status(StatusCode.FailedPrecondition, () => host.Client.SetDeploymentAsync(stale).ResponseAsync,
            "expected_revision is 1", "revision 2");
        var current = Request("linear", [(1, "default", 50), (2, "default", 50)]);
        current.ExpectedRevision = 2;
        var applied = await host.Client.SetDeploymentAsync(current);

        Assert.Equal(3, applied.Deployment.Revision);
    }

    [Fact]
    public async Task SetDeployment_EmptyEntries_UndeploysAsNewRevision()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 1);
        await host.Client.SetDeploymentAsync(Request("linear", [(1, "default", 100)]));

        var undeployed = await host.Client.SetDeploymentAsync(Request("linear", []));

        Assert.Equal(2, undeployed.Deployment.Revision);
        Assert.Empty(undeployed.Deployment.Entries);
        Assert.Empty(host.OutboxEvents<DeploymentChanged>()[^1].Entries);
    }

    [Theory]
    [InlineData(7, 0, "entries[0].version: model 'linear' has no version 7")]
    [InlineData(1, 7, "shadow.version: model 'linear' has no version 7")]
    public async Task SetDeployment_UnknownVersion_NotFoundNamingField(long entry, long shadow, string expected)
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 1);

        await Expect.Status(StatusCode.NotFound,
            () => host.Client.SetDeploymentAsync(Request("linear", [(entry, "default", 100)], shadow: shadow > 0 ? (shadow, 10) : null)).ResponseAsync,
            expected);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SetDeployment_ArchivedVersion_FailedPrecondition(bool asShadow)
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 2);
        await host.Client.ArchiveVersionAsync(new ArchiveVersionRequest { ModelName = "linear", Version = 2 });

        var request = asShadow ? Request("linear", [(1, "default", 100)], shadow: (2, 10)) : Request("linear", [(2, "default", 100)]);

        await Expect.Status(StatusCode.FailedPrecondition, () => host.Client.SetDeploymentAsync(request).ResponseAsync,
            "Version 2", "archived", asShadow ? "shadow" : "entries[0]");
    }

    [Fact]
    public async Task SetDeployment_UnknownModel_NotFound()
    {
        await using var host = new RegistryHost(store);

        await Expect.Status(StatusCode.NotFound,
            () => host.Client.SetDeploymentAsync(Request("ghost", [(1, "default", 100)])).ResponseAsync, "'ghost' does not exist");
    }

    [Fact]
    public async Task SetDeployment_PoolNotConfigured_InvalidArgumentListingPools()
    {
        await using var host = new RegistryHost(store, settings: new Dictionary<string, string>
        {
            ["Registry:Pools:0"] = "gpu", ["Registry:Pools:1"] = "cpu",
        });
        await host.CreateModelWithVersionsAsync("linear", 1);

        await Expect.Status(StatusCode.InvalidArgument,
            () => host.Client.SetDeploymentAsync(Request("linear", [(1, "tpu", 100)])).ResponseAsync,
            "entries[0].pool must be one of the configured pools (gpu, cpu)");
        var ok = await host.Client.SetDeploymentAsync(Request("linear", [(1, "gpu", 100)]));
        Assert.Equal(1, ok.Deployment.Revision);
    }

    /// <summary>A SetDeployment request from (version, pool, weight) triples.</summary>
    internal static SetDeploymentRequest Request(string model, (long Version, string Pool, int Weight)[] entries,
        (long Version, int Percent)? shadow = null, string actor = "ops", string reason = "test")
    {
        var request = new SetDeploymentRequest { ModelName = model, Actor = actor, Reason = reason };
        request.Entries.AddRange(entries.Select(e => new DeploymentEntry { Version = e.Version, Pool = e.Pool, Weight = e.Weight }));
        if (shadow is { } s)
        {
            request.Shadow = new ShadowTarget { Version = s.Version, Percent = s.Percent };
        }
        return request;
    }

    /// <summary>On SQLite.</summary>
    public sealed class OnSqlite() : DeploymentTests(RegistryStore.Sqlite);

    /// <summary>On PostgreSQL.</summary>
    [Collection(PostgresCollection.Name)]
    public sealed class OnPostgres(PostgresServer server) : DeploymentTests(server);
}
