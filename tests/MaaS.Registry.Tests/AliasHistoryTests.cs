using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.Tests.Stores;
using MaaS.Registry.V1;

namespace MaaS.Registry.Tests;

/// <summary>Runs on every metadata store: <see cref="OnSqlite"/> and <see cref="OnPostgres"/> (a real PostgreSQL server).</summary>
public abstract class AliasHistoryTests(RegistryStore store)
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task DeleteAlias_Existing_RemovedRecordedAndAliasDeletedWritten()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 1);
        await host.SetAliasAsync("linear", "staging", 1);

        var deleted = await host.Client.DeleteAliasAsync(new DeleteAliasRequest
        {
            ModelName = "linear", Alias = "staging", Actor = "ops", Reason = "retired",
        });

        Assert.Equal(1, deleted.PreviousVersion);
        var model = (await host.Client.GetModelAsync(new GetModelRequest { Name = "linear" })).Model;
        Assert.False(model.Aliases.ContainsKey("staging"));
        var last = (await host.Client.GetAliasHistoryAsync(new GetAliasHistoryRequest { ModelName = "linear" })).Entries[0];
        Assert.Equal(("delete", 1L, 0L, "ops", "retired"), (last.Kind, last.FromVersion, last.ToVersion, last.Actor, last.Reason));
        var evt = Assert.Single(host.OutboxEvents<AliasDeleted>());
        Assert.Equal(("linear", "staging", 1L, "ops", "retired"), (evt.ModelName, evt.Alias, evt.FromVersion, evt.Actor, evt.Reason));
    }

    [Fact]
    public async Task DeleteAlias_Unknown_NotFound()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");

        await Expect.Status(StatusCode.NotFound,
            () => host.Client.DeleteAliasAsync(new DeleteAliasRequest { ModelName = "linear", Alias = "staging" }).ResponseAsync,
            "no alias 'staging'");
    }

    [Fact]
    public async Task GetAliasHistory_SeveralMoves_NewestFirstPagedAndFilterable()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 3);
        await host.SetAliasAsync("linear", "production", 1, "alice", "first");
        await host.SetAliasAsync("linear", "staging", 2, "bob", "try two");
        await host.SetAliasAsync("linear", "production", 2, "carol", "two won");
        await host.SetAliasAsync("linear", "production", 3, "dave", "three won");

        var first = await host.Client.GetAliasHistoryAsync(new GetAliasHistoryRequest { ModelName = "linear", Alias = "production", PageSize = 2 });
        var second = await host.Client.GetAliasHistoryAsync(new GetAliasHistoryRequest
        {
            ModelName = "linear", Alias = "production", PageSize = 2, PageToken = first.NextPageToken,
        });
        var all = await host.Client.GetAliasHistoryAsync(new GetAliasHistoryRequest { ModelName = "linear" });

        Assert.Equal([(2L, 3L, "dave"), (1L, 2L, "carol")], first.Entries.Select(e => (e.FromVersion, e.ToVersion, e.Actor)));
        Assert.Equal([(0L, 1L, "alice")], second.Entries.Select(e => (e.FromVersion, e.ToVersion, e.Actor)));
        Assert.Equal("", second.NextPageToken);
        Assert.Equal(["production", "production", "staging", "production"], all.Entries.Select(e => e.Alias));
        Assert.All(all.Entries, e => Assert.Equal("set", e.Kind));
    }

    [Fact]
    public async Task GetServingVersion_AtSeveralTimes_AnswersFromTheHistory()
    {
        var clock = new FakeClock(T0);
        await using var host = new RegistryHost(store, clock: clock);
        await host.CreateModelWithVersionsAsync("linear", 2);
        clock.Advance(TimeSpan.FromHours(1)); // T0+1h: production → 1
        await host.SetAliasAsync("linear", "production", 1);
        clock.Advance(TimeSpan.FromHours(1)); // T0+2h: production → 2
        await host.SetAliasAsync("linear", "production", 2);
        clock.Advance(TimeSpan.FromHours(1)); // T0+3h: rolled back to 1
        await host.Client.RollbackAsync(new RollbackRequest { ModelName = "linear", Actor = "pager", Reason = "errors up" });
        clock.Advance(TimeSpan.FromHours(1)); // T0+4h: alias removed
        await host.Client.DeleteAliasAsync(new DeleteAliasRequest { ModelName = "linear", Alias = "production" });
        clock.Advance(TimeSpan.FromHours(1));

        async Task<GetServingVersionResponse> At(double hours) => await host.Client.GetServingVersionAsync(new GetServingVersionRequest
        {
            ModelName = "linear", At = Timestamp.FromDateTimeOffset(T0.AddHours(hours)),
        });

        var before = await At(0.5);
        Assert.Equal(0, before.Version);
        Assert.Null(before.Since);
        Assert.Equal(1, (await At(1)).Version); // the instant of the move counts
        Assert.Equal(1, (await At(1.5)).Version);
        Assert.Equal(2, (await At(2.5)).Version);
        var afterRollback = await At(3.5);
        Assert.Equal(1, afterRollback.Version);
        Assert.Equal(("rollback", "pager", "errors up"), (afterRollback.Since.Kind, afterRollback.Since.Actor, afterRollback.Since.Reason));
        Assert.Equal(Timestamp.FromDateTimeOffset(T0.AddHours(3)), afterRollback.Since.At);
        var afterDelete = await At(4.5);
        Assert.Equal(0, afterDelete.Version);
        Assert.Equal("delete", afterDelete.Since.Kind);
        var now = await host.Client.GetServingVersionAsync(new GetServingVersionRequest { ModelName = "linear" });
        Assert.Equal(("production", 0L), (now.Alias, now.Version));
    }

    [Fact]
    public async Task GetServingVersion_NamedAlias_FollowsThatAliasOnly()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 2);
        await host.SetAliasAsync("linear", "production", 1);
        await host.SetAliasAsync("linear", "staging", 2);

        var staging = await host.Client.GetServingVersionAsync(new GetServingVersionRequest { ModelName = "linear", Alias = "staging" });
        var production = await host.Client.GetServingVersionAsync(new GetServingVersionRequest { ModelName = "linear" });

        Assert.Equal(2, staging.Version);
        Assert.Equal(1, production.Version);
    }

    [Fact]
    public async Task GetServingVersion_UnknownModel_NotFound()
    {
        await using var host = new RegistryHost(store);

        await Expect.Status(StatusCode.NotFound,
            () => host.Client.GetServingVersionAsync(new GetServingVersionRequest { ModelName = "ghost" }).ResponseAsync, "'ghost'");
    }

    [Fact]
    public async Task Rollback_ThreeReleases_EachCallStepsBackOnceUntilNoneIsLeft()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 3);
        await host.SetAliasAsync("linear", "production", 1);
        await host.SetAliasAsync("linear", "production", 2);
        await host.SetAliasAsync("linear", "production", 3);
        var request = new RollbackRequest { ModelName = "linear", Actor = "pager", Reason = "latency" };

        var first = await host.Client.RollbackAsync(request);
        var second = await host.Client.RollbackAsync(request);
        await Expect.Status(StatusCode.FailedPrecondition, () => host.Client.RollbackAsync(request).ResponseAsync,
            "no earlier target", "version 1");

        Assert.Equal(("production", 2L, 3L), (first.Alias, first.Version, first.PreviousVersion));
        Assert.Equal((1L, 2L), (second.Version, second.PreviousVersion));
        var resolved = (await host.Client.GetVersionAsync(new GetVersionRequest { ModelName = "linear", Alias = "production" })).Version;
        Assert.Equal(1, resolved.Version);
        var rollbacks = host.OutboxEvents<AliasMoved>().Where(e => e.Rollback).ToList();
        Assert.Equal([(3L, 2L), (2L, 1L)], rollbacks.Select(e => (e.FromVersion, e.ToVersion)));
        Assert.All(rollbacks, e => Assert.Equal("pager", e.Actor));
    }

    [Fact]
    public async Task Rollback_DeploymentSendsAllTrafficToTheVersionLeft_DeploymentFollowsProduction()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 2);
        await host.SetAliasAsync("linear", "production", 1);
        await host.SetAliasAsync("linear", "production", 2);
        await SetDeploymentAsync(host, (2, 100));

        await host.Client.RollbackAsync(new RollbackRequest { ModelName = "linear", Actor = "pager", Reason = "errors" });

        var deployment = (await host.Client.GetDeploymentAsync(new GetDeploymentRequest { ModelName = "linear" })).Deployment;
        var entry = Assert.Single(deployment.Entries);
        Assert.Equal((1L, "default", 100), (entry.Version, entry.Pool, entry.Weight));
        Assert.Equal(2, deployment.Revision);
        Assert.Contains("rollback of production", deployment.Reason);
    }

    [Fact]
    public async Task Rollback_DeploymentSplitsOverSeveralVersions_DeploymentUnchanged()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 2);
        await host.SetAliasAsync("linear", "production", 1);
        await host.SetAliasAsync("linear", "production", 2);
        await SetDeploymentAsync(host, (1, 50), (2, 50));

        await host.Client.RollbackAsync(new RollbackRequest { ModelName = "linear", Actor = "pager", Reason = "errors" });

        var deployment = (await host.Client.GetDeploymentAsync(new GetDeploymentRequest { ModelName = "linear" })).Deployment;
        Assert.Equal(1, deployment.Revision);
        Assert.Equal([1L, 2L], deployment.Entries.Select(e => e.Version));
    }

    private static Task SetDeploymentAsync(RegistryHost host, params (long Version, int Weight)[] entries)
    {
        var request = new SetDeploymentRequest { ModelName = "linear", Actor = "ops", Reason = "deploy" };
        request.Entries.AddRange(entries.Select(e => new DeploymentEntry { Version = e.Version, Pool = "default", Weight = e.Weight }));
        return host.Client.SetDeploymentAsync(request).ResponseAsync;
    }

    [Fact]
    public async Task Rollback_AfterNewReleaseFollowingRollback_ReturnsToTheVersionBeforeIt()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 4);
        await host.SetAliasAsync("linear", "production", 1);
        await host.SetAliasAsync("linear", "production", 2);
        await host.Client.RollbackAsync(new RollbackRequest { ModelName = "linear" });
        await host.SetAliasAsync("linear", "production", 4);

        var rolledBack = await host.Client.RollbackAsync(new RollbackRequest { ModelName = "linear" });

        Assert.Equal((1L, 4L), (rolledBack.Version, rolledBack.PreviousVersion));
    }

    [Fact]
    public async Task Rollback_SingleRelease_FailedPrecondition()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 1);
        await host.SetAliasAsync("linear", "production", 1);

        await Expect.Status(StatusCode.FailedPrecondition,
            () => host.Client.RollbackAsync(new RollbackRequest { ModelName = "linear" }).ResponseAsync, "no earlier target");
    }

    [Fact]
    public async Task Rollback_NoSuchAlias_FailedPrecondition()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 1);

        await Expect.Status(StatusCode.FailedPrecondition,
            () => host.Client.RollbackAsync(new RollbackRequest { ModelName = "linear", Alias = "canary" }).ResponseAsync,
            "no alias 'canary'");
    }

    [Fact]
    public async Task Rollback_PreviousTargetArchived_FailedPreconditionNamingIt()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 2);
        await host.SetAliasAsync("linear", "production", 1);
        await host.SetAliasAsync("linear", "production", 2);
        await host.Client.ArchiveVersionAsync(new ArchiveVersionRequest { ModelName = "linear", Version = 1 });

        await Expect.Status(StatusCode.FailedPrecondition,
            () => host.Client.RollbackAsync(new RollbackRequest { ModelName = "linear" }).ResponseAsync, "Version 1", "archived");
    }

    [Fact]
    public async Task Rollback_UnknownModel_NotFound()
    {
        await using var host = new RegistryHost(store);

        await Expect.Status(StatusCode.NotFound,
            () => host.Client.RollbackAsync(new RollbackRequest { ModelName = "ghost" }).ResponseAsync, "'ghost' does not exist");
    }

    [Fact]
    public async Task SetAlias_ArchivedVersion_FailedPrecondition()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 1);
        await host.Client.ArchiveVersionAsync(new ArchiveVersionRequest { ModelName = "linear", Version = 1 });

        await Expect.Status(StatusCode.FailedPrecondition, () => host.SetAliasAsync("linear", "production", 1), "archived");
    }

    /// <summary>On SQLite.</summary>
    public sealed class OnSqlite() : AliasHistoryTests(RegistryStore.Sqlite);

    /// <summary>On PostgreSQL.</summary>
    [Collection(PostgresCollection.Name)]
    public sealed class OnPostgres(PostgresServer server) : AliasHistoryTests(server);
}
