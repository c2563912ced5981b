using MaaS.Testing;

namespace MaaS.Gateway.Tests.Security;

/// <summary>
/// Gateways keeping their keys on a real PostgreSQL server (<see cref="PostgresInstance"/>), started once for the
/// collection. Each test gets an empty schema of its own, which all the gateways of that test share as replicas do.
/// </summary>
public sealed class GatewayPostgres : IDisposable
{
    private readonly PostgresInstance _server = new("maas-gateway-pg-");

    /// <summary>A new empty schema; its name is a fixed prefix and hex digits, nothing to inject.</summary>
    public string NewSchema()
    {
        var schema = "gw_" + Guid.NewGuid().ToString("N")[..16];
        _server.Execute($"CREATE SCHEMA {schema};");
        return schema;
    }

    /// <summary>The settings of a gateway keeping its keys in <paramref name="schema"/>, reloading every second.</summary>
    public Dictionary<string, string?> Settings(string root, string schema)
    {
        var settings = SecurityHosts.AuthSettings(root);
        settings["Gateway:Auth:Store"] = "Postgres";
        settings["Gateway:Auth:ConnectionString"] = _server.ConnectionString(schema);
        settings["Gateway:Auth:RefreshSeconds"] = "1";
        return settings;
    }

    /// <summary>A scalar read from <paramref name="schema"/>.</summary>
    public long Count(string schema, string sql) => _server.Scalar(schema, sql);

    public void Drop(string schema) => _server.Execute($"DROP SCHEMA IF EXISTS {schema} CASCADE;");

    public void Dispose() => _server.Dispose();
}

/// <summary>
/// The tests that share one <see cref="GatewayPostgres"/> (xunit runs a collection's classes one after the other).
/// Not beside other collections: the server's start blocks one of xunit's two worker threads for seconds, and the
/// several gateways these tests start load both cores; the timing-bound gateway tests once timed out beside them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GatewayPostgresCollection : ICollectionFixture<GatewayPostgres>
{
    public const string Name = "Gateway PostgreSQL server";
}
