using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using MaaS.Testing;
using Npgsql;

namespace MaaS.Registry.Tests.Stores;

/// <summary>
/// A real PostgreSQL 15 server for the tests: started once per test collection with infra/postgres.sh
/// (which installs Debian's postgresql when it is missing) on a free loopback port with its data in a
/// temporary folder, and stopped by the script when the collection is done. Each registry host gets a
/// schema of its own (named after its data folder) as its empty database.
/// </summary>
public sealed class PostgresServer : RegistryStore, IDisposable
{
    private readonly InfraScript _script;
    private readonly string _folder;

    /// <summary>Starts the server.</summary>
    public PostgresServer()
    {
        Port = FreePorts.One();
        _folder = InfraScript.OpenTempFolder("maas-registry-pg-");
        _script = InfraScript.Postgres(RepoPaths.AboveBinaries(), Port, _folder);
        _script.Run("start", TimeSpan.FromMinutes(10));
        ServerConnectionString = $"Host=127.0.0.1;Port={Port};Username=maas;Database=maas;Pooling=false";
    }

    /// <summary>The server's port.</summary>
    public int Port { get; }

    /// <summary>A connection string to the server's <c>maas</c> database, default schema.</summary>
    public string ServerConnectionString { get; }

    /// <summary>The connection string of the schema that belongs to <paramref name="dataDirectory"/>.</summary>
    public string ConnectionString(string dataDirectory) =>
        $"Host=127.0.0.1;Port={Port};Username=maas;Database=maas;Search Path={SchemaOf(dataDirectory)}";

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, string> Settings(string dataDirectory)
    {
        Execute($"CREATE SCHEMA IF NOT EXISTS {SchemaOf(dataDirectory)};");
        return new Dictionary<string, string>
        {
            ["Registry:Store"] = "Postgres",
            ["Registry:ConnectionString"] = ConnectionString(dataDirectory),
        };
    }

    /// <inheritdoc />
    public override DbConnection Open(string dataDirectory)
    {
        var connection = new NpgsqlConnection(ConnectionString(dataDirectory) + ";Pooling=false");
        connection.Open();
        return connection;
    }

    /// <inheritdoc />
    public override void Release(string dataDirectory) => Execute($"DROP SCHEMA IF EXISTS {SchemaOf(dataDirectory)} CASCADE;");

    /// <summary>Runs a statement on the server's <c>maas</c> database.</summary>
    public void Execute(string sql)
    {
        using var connection = new NpgsqlConnection(ServerConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _script.Run("stop", TimeSpan.FromMinutes(2));
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }

    /// <inheritdoc />
    public override string ToString() => "PostgreSQL";

    // A schema name is an identifier: a fixed prefix and hex of the folder's hash, nothing a path could inject.
    private static string SchemaOf(string dataDirectory) =>
        "t_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(dataDirectory))))[..24];
}

/// <summary>The tests that share one <see cref="PostgresServer"/> (xunit runs a collection's classes one after the other).</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    /// <summary>Collection name.</summary>
    public const string Name = "PostgreSQL server";
}
