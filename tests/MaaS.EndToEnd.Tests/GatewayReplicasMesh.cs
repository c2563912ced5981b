using MaaS.Testing;

namespace MaaS.EndToEnd.Tests;

/// <summary>
/// Two gateway processes sharing their API keys in one real PostgreSQL schema (Gateway:Auth:Store=Postgres) and one
/// real broker, and nothing else of the mesh. The periodic reload is set to an hour, so within a test only the
/// ApiKeysChanged event over RabbitMQ can carry a key change from one gateway to the other. Both read the same admin
/// key file: gateway A (started first, waited for) creates it, gateway B adopts it.
/// </summary>
public sealed class GatewayReplicasMesh : MeshProcesses
{
    private PostgresInstance? postgres;

    /// <summary>Gateway A's gRPC address (started first; it wrote the admin key file).</summary>
    public Uri GatewayA { get; private set; } = null!;

    /// <summary>Gateway B's gRPC address (started once A was healthy; it adopted the admin key file).</summary>
    public Uri GatewayB { get; private set; } = null!;

    /// <inheritdoc />
    protected override async Task StartServicesAsync(int amqp)
    {
        postgres = new PostgresInstance("maas-e2e-gateway-pg");
        const string schema = "gateway_replicas";
        postgres.Execute($"CREATE SCHEMA {schema}");

        // The gateway needs at least one inference replica to start: one on a port where nothing listens, so it is
        // never live and the gateway answers server-wide calls itself (Unavailable) after the key check. No registry.
        var deadReplica = FreePort();
        string[] common =
        [
            $"--Bus:Port={amqp}",
            "--Gateway:Auth:Store=Postgres",
            $"--Gateway:Auth:ConnectionString={postgres.ConnectionString(schema)}",
            "--Gateway:Auth:RefreshSeconds=3600",
            $"--Gateway:Auth:AdminKeyFile={AdminKeyFile}",
            "--Gateway:Replicas:0:Name=nobody", "--Gateway:Replicas:0:Pool=default",
            $"--Gateway:Replicas:0:GrpcAddress=http://127.0.0.1:{deadReplica}",
            $"--Gateway:Replicas:0:RestAddress=http://127.0.0.1:{deadReplica}",
        ];
        int a = FreePort(), b = FreePort();
        GatewayA = new Uri($"http://127.0.0.1:{a}");
        GatewayB = new Uri($"http://127.0.0.1:{b}");

        // B only once A is healthy: A has then written the admin key file that B adopts.
        await Start("gateway-a", "gateway/MaaS.Gateway", a, 0, common).WaitHealthyAsync();
        Start("gateway-b", "gateway/MaaS.Gateway", b, 0, common);
    }

    /// <inheritdoc />
    public override async Task DisposeAsync()
    {
        // The gateways first, then the database they use.
        await base.DisposeAsync();
        postgres?.Dispose();
    }
}
