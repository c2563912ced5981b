using MaaS.Registry.Storage.Postgres;
using MaaS.Registry.Storage.Sqlite;
using MaaS.Registry.Tests.Stores;
using MaaS.Registry.V1;
using MaaS.Testing;

namespace MaaS.Registry.Tests;

/// <summary>What only the PostgreSQL store has: its schema history, its start on a shared server, its refusals.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreTests(PostgresServer server)
{
    [Fact]
    public void Migrations_SameStepsAsSqlite()
    {
        Assert.Equal(SqliteMigrations.All.Select(m => (m.Version, m.Name)), PostgresMigrations.All.Select(m => (m.Version, m.Name)));
    }

    [Fact]
    public async Task Start_FreshDatabase_AppliesEveryStepOnceInPostgres()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("maas-registry-pg-migrate-").FullName;
        try
        {
            await using (var first = new RegistryHost(server, dataDirectory))
            {
                await first.CreateModelWithVersionsAsync("linear", 2);
            }
            await using var second = new RegistryHost(server, dataDirectory);
            var model = (await second.Client.GetModelAsync(new GetModelRequest { Name = "linear" })).Model;

            Assert.Equal(2, model.LatestVersion);
            Assert.Equal(PostgresMigrations.All.Count, second.Count("SELECT COUNT(*) FROM schema_version;"));
            Assert.Equal(PostgresMigrations.All[^1].Version, second.Count("SELECT MAX(version) FROM schema_version;"));
            // The tables are the server's, in the host's own schema, with byte-wise name order.
            Assert.Equal(1, second.Count("""
                SELECT COUNT(*) FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = 'models' AND column_name = 'name' AND collation_name = 'C';
                """));
        }
        finally
        {
            server.Release(dataDirectory);
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Start_DatabaseNewerThanThisBuild_RefusesWithTheReason()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("maas-registry-pg-newer-").FullName;
        try
        {
            await using (var first = new RegistryHost(server, dataDirectory))
            {
                await first.CreateModelAsync("linear");
            }
            using (var connection = server.Open(dataDirectory))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "INSERT INTO schema_version VALUES (999, 'from the future', now());";
                command.ExecuteNonQuery();
            }

            var output = await StartupRefusal.RunAsync("services/MaaS.Registry", server.Settings(dataDirectory));

            Assert.Contains("The registry database is at schema version 999, newer than this build knows", output);
        }
        finally
        {
            server.Release(dataDirectory);
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task TwoReplicasOnOneDatabase_EachEventPublishedOnceAndInOrder()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("maas-registry-pg-replicas-").FullName;
        try
        {
            await using var a = new RegistryHost(server, dataDirectory);
            await using var b = new RegistryHost(server, dataDirectory);
            var names = Enumerable.Range(0, 40).Select(i => $"m{i:00}").ToList();
            for (var i = 0; i < names.Count; i++)
            {
                await (i % 2 == 0 ? a : b).CreateModelAsync(names[i]);
            }
            var until = DateTime.UtcNow.AddSeconds(30);
            while (a.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL;") > 0)
            {
                Assert.True(DateTime.UtcNow < until, "The two replicas left events unsent for 30 s.");
                await Task.Delay(50);
            }

            var byA = Created(a);
            var byB = Created(b);

            // Each replica published some rows (whoever held the lease), every row once, each replica's share in outbox order.
            Assert.Equal(names, byA.Concat(byB).Order(StringComparer.Ordinal));
            Assert.Equal(byA.Order(StringComparer.Ordinal), byA);
            Assert.Equal(byB.Order(StringComparer.Ordinal), byB);
        }
        finally
        {
            server.Release(dataDirectory);
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private static List<string> Created(RegistryHost host) =>
        host.Harness.Published.Select<MaaS.Contracts.ModelCreated>(new CancellationToken(canceled: true))
            .Select(m => m.Context.Message.ModelName).ToList();

    [Fact]
    public async Task ListModels_NamesWithDigitsAndPunctuation_ByteOrderAsOnSqlite()
    {
        string[] names = ["a-b", "a.b", "a0", "a_b", "ab", "a9"];
        await using var postgres = new RegistryHost(server);
        await using var sqlite = new RegistryHost(RegistryStore.Sqlite);
        foreach (var name in names)
        {
            await postgres.CreateModelAsync(name);
            await sqlite.CreateModelAsync(name);
        }

        var pagesPostgres = await AllNamesAsync(postgres);
        var pagesSqlite = await AllNamesAsync(sqlite);

        Assert.Equal(names.Order(StringComparer.Ordinal), pagesPostgres);
        Assert.Equal(pagesSqlite, pagesPostgres);
    }

    [Fact]
    public async Task Start_PostgresWithoutConnectionString_RefusesNamingTheSetting()
    {
        var output = await StartupRefusal.RunAsync("services/MaaS.Registry", new Dictionary<string, string> { ["Registry:Store"] = "Postgres" });

        Assert.Contains("Registry:ConnectionString is required when Registry:Store is Postgres.", output);
    }

    private static async Task<List<string>> AllNamesAsync(RegistryHost host)
    {
        var names = new List<string>();
        var token = "";
        do
        {
            var page = await host.Client.ListModelsAsync(new ListModelsRequest { PageSize = 2, PageToken = token });
            names.AddRange(page.Models.Select(m => m.Name));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        return names;
    }
}
