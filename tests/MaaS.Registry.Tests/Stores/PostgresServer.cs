using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using MaaS.Testing;

namespace MaaS.Registry.Tests.Stores;

/// <summary>
/// The registry on a real PostgreSQL server (<see cref="PostgresInstance"/>), started once per test collection.
/// Each registry host gets a schema of its own (named after its data folder) as its empty database.
/// </summary>
public sealed class PostgresServer : RegistryStore, IDisposable
{
    private readonly PostgresInstance _server = new("maas-registry-pg-");

    /// <summary>The connection string of the schema that belongs to <paramref name="dataDirectory"/>.</summary>
    public string ConnectionString(string dataDirectory) => _server.ConnectionString(SchemaOf(dataDirectory));

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
    public override DbConnection Open(string dataDirectory) => _server.Open(SchemaOf(dataDirectory));

    /// <inheritdoc />
    public override void Release(string dataDirectory) => Execute($"DROP SCHEMA IF EXISTS {SchemaOf(dataDirectory)} CASCADE;");

    /// <summary>Runs a statement on the server's <c>maas</c> database.</summary>
    public void Execute(string sql) => _server.Execute(sql);

    /// <inheritdoc />
    public void Dispose() => _server.Dispose();

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
