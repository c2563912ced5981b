using System.Text;
using MaaS.Contracts;
using MaaS.Registry.Tests.Stores;
using MaaS.Registry.V1;

namespace MaaS.Registry.Tests;

/// <summary>Runs on every metadata store: <see cref="OnSqlite"/> and <see cref="OnPostgres"/> (a real PostgreSQL server).</summary>
public abstract class OutboxEventTests(RegistryStore store)
{
    [Fact]
    public async Task EveryChange_WritesItsEventInTheOutboxInOrder()
    {
        await using var host = new RegistryHost(store, dispatchOutbox: false);

        await host.Client.CreateModelAsync(new CreateModelRequest { Name = "linear", Owner = "team" });
        await host.RegisterAsync("linear", RegistryHost.Bytes(40, 1));
        await host.RegisterAsync("linear", RegistryHost.Bytes(40, 2));
        await host.RegisterAsync("linear", RegistryHost.Bytes(40, 3));
        await host.SetAliasAsync("linear", "production", 1);
        await host.SetAliasAsync("linear", "production", 2);
        await host.Client.RollbackAsync(new RollbackRequest { ModelName = "linear" });
        await host.Client.DeleteAliasAsync(new DeleteAliasRequest { ModelName = "linear", Alias = "production" });
        await host.Client.SetDeploymentAsync(DeploymentTests.Request("linear", [(1, "default", 100)]));
        await host.Client.ArchiveVersionAsync(new ArchiveVersionRequest { ModelName = "linear", Version = 2 });
        await host.Client.DeleteVersionAsync(new DeleteVersionRequest { ModelName = "linear", Version = 3 });
        await host.UploadDatasetAsync("points", Encoding.UTF8.GetBytes("x\n1\n"));

        var rows = host.Rows("SELECT message_type, payload FROM outbox ORDER BY id;", r => (Type: r.GetString(0), Payload: r.GetString(1)));
        var types = new List<string>();
        var ids = new List<Guid>();
        foreach (var (type, json) in rows)
        {
            types.Add(type.Replace("MaaS.Contracts.", ""));
            using var payload = System.Text.Json.JsonDocument.Parse(json);
            ids.Add(payload.RootElement.GetProperty("EventId").GetGuid());
            Assert.Equal(1, payload.RootElement.GetProperty("SchemaVersion").GetInt32());
            Assert.True(payload.RootElement.TryGetProperty("OccurredAt", out _));
            Assert.True(payload.RootElement.TryGetProperty("CorrelationId", out _));
        }

        Assert.Equal(
        [
            "ModelCreated", "ModelVersionRegistered", "ModelVersionRegistered", "ModelVersionRegistered", "AliasMoved", "AliasMoved",
            "AliasMoved", "AliasDeleted", "DeploymentChanged", "VersionArchived", "VersionDeleted", "DatasetVersionCreated",
        ], types);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(0, host.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL;"));
    }

    [Fact]
    public async Task RefusedChange_WritesNoEvent()
    {
        await using var host = new RegistryHost(store, dispatchOutbox: false);
        await host.CreateModelWithVersionsAsync("linear", 1);
        await host.SetAliasAsync("linear", "production", 1);
        var before = host.Count("SELECT COUNT(*) FROM outbox;");

        await Assert.ThrowsAsync<Grpc.Core.RpcException>(() =>
            host.Client.DeleteVersionAsync(new DeleteVersionRequest { ModelName = "linear", Version = 1 }).ResponseAsync);
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(() =>
            host.Client.RollbackAsync(new RollbackRequest { ModelName = "linear" }).ResponseAsync);

        Assert.Equal(before, host.Count("SELECT COUNT(*) FROM outbox;"));
    }

    /// <summary>On SQLite.</summary>
    public sealed class OnSqlite() : OutboxEventTests(RegistryStore.Sqlite);

    /// <summary>On PostgreSQL.</summary>
    [Collection(PostgresCollection.Name)]
    public sealed class OnPostgres(PostgresServer server) : OutboxEventTests(server);
}
