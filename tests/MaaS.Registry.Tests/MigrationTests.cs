using MaaS.Registry.Storage.Sqlite;
using MaaS.Registry.V1;
using Microsoft.Data.Sqlite;

namespace MaaS.Registry.Tests;

public sealed class MigrationTests
{
    [Fact]
    public async Task Start_OnSchemaVersionOneDatabase_MigratesAndKeepsNumbering()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("maas-registry-migrate-").FullName;
        try
        {
            WriteVersionOneDatabase(Path.Combine(dataDirectory, "registry.db"));

            await using var host = new RegistryHost(dataDirectory);
            var model = (await host.Client.GetModelAsync(new GetModelRequest { Name = "legacy" })).Model;
            var history = await host.Client.GetAliasHistoryAsync(new GetAliasHistoryRequest { ModelName = "legacy" });
            var next = await host.RegisterAsync("legacy", RegistryHost.Bytes(10, 1));

            Assert.Equal(("", 2L, 2L), (model.Owner, model.LatestVersion, model.Aliases["production"]));
            Assert.Equal("set", Assert.Single(history.Entries).Kind);
            Assert.Equal(3, next.Version);
            Assert.Equal(SqliteMigrations.All[^1].Version, host.Count("SELECT MAX(version) FROM schema_version;"));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    /// <summary>A database as the first registry release left it: schema step 1 and a model with two versions and an alias.</summary>
    private static void WriteVersionOneDatabase(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        const string at = "2024-01-01T00:00:00.0000000Z";
        const string digest = "0000000000000000000000000000000000000000000000000000000000000000";
        command.CommandText = $$"""
            CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
            {{SqliteMigrations.All[0].Sql}}
            INSERT INTO schema_version VALUES (1, 'first', '{{at}}');
            INSERT INTO models VALUES ('legacy', '', 'regression', '{{at}}');
            INSERT INTO versions VALUES ('legacy', 1, '{{digest}}', 5, '{"inputs":[],"outputs":[]}', '{}', '{}', '', 0, '', '', 0, 'ready', 'x', '{{at}}');
            INSERT INTO versions VALUES ('legacy', 2, '{{digest}}', 5, '{"inputs":[],"outputs":[]}', '{}', '{}', '', 0, '', '', 0, 'ready', 'x', '{{at}}');
            INSERT INTO aliases VALUES ('legacy', 'production', 2, '{{at}}');
            INSERT INTO alias_history(model, alias, from_version, to_version, actor, reason, at) VALUES ('legacy', 'production', 0, 2, 'x', '', '{{at}}');
            """;
        command.ExecuteNonQuery();
    }
}
