using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Gateway.Routing;
using MaaS.Gateway.Security;
using MaaS.Gateway.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Gateway.Tests.Security;

/// <summary>
/// Gateway replicas sharing one PostgreSQL key store (Gateway:Auth:Store=Postgres): each test starts its own
/// gateways on an empty schema. The in-process gateways do not share a bus, so a change made on one reaches
/// the other through the periodic reload (RefreshSeconds=1), which the tests wait for (bounded).
/// </summary>
[Collection(GatewayPostgresCollection.Name)]
public sealed class SharedKeyStoreTests(GatewayPostgres postgres) : IAsyncLifetime
{
    private static readonly ModelInferRequest Infer = new() { ModelName = "m", ModelVersion = "1" };
    private readonly string _root = SecurityHosts.TempRoot();
    private readonly string _schema = postgres.NewSchema();
    private readonly List<WebApplication> _hosts = [];
    private readonly List<GrpcChannel> _channels = [];
    private ReplicaOptions _replica = null!;

    public async Task InitializeAsync()
    {
        var (replica, options) = await TestHosts.StartReplicaAsync("replica-a", 1);
        _hosts.Add(replica);
        _replica = options;
    }

    public async Task DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
        // Gateways first (they were inserted at the front), the replica last.
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
        postgres.Drop(_schema);
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task CreateKey_OnGatewayA_AcceptedOnGatewayB()
    {
        var (a, _) = await StartGatewayAsync(_root);
        var (b, _) = await StartGatewayAsync(_root);
        var admin = await AdminKeyAsync(_root);

        var token = await SecurityHosts.CreateKeyAsync(a, admin, "shared", ["infer"]);
        var accepted = await EventuallyAsync(async () => await TryInferAsync(b, token) == StatusCode.OK);

        Assert.True(accepted, "A key created on gateway A was never accepted by gateway B.");
    }

    [Fact]
    public async Task RevokeKey_OnGatewayA_RefusedOnGatewayB()
    {
        var (a, _) = await StartGatewayAsync(_root);
        var (b, _) = await StartGatewayAsync(_root);
        var admin = await AdminKeyAsync(_root);
        var token = await SecurityHosts.CreateKeyAsync(a, admin, "to-revoke", ["infer"]);
        Assert.True(await EventuallyAsync(async () => await TryInferAsync(b, token) == StatusCode.OK));

        await new KeyService.KeyServiceClient(a).RevokeKeyAsync(new RevokeKeyRequest { Id = token.Split('_')[1] }, SecurityHosts.Bearer(admin));
        var refused = await EventuallyAsync(async () => await TryInferAsync(b, token) == StatusCode.Unauthenticated);

        Assert.True(refused, "A key revoked on gateway A was still accepted by gateway B.");
        Assert.Equal(StatusCode.Unauthenticated, await TryInferAsync(a, token));
    }

    [Fact]
    public async Task Start_TwoGatewaysAtOnceOnEmptySchema_ExactlyOneAdminKey()
    {
        // Each replica has its own admin key file (separate pods, no Secret): only the one that wins the lock writes one.
        var roots = new[] { Path.Combine(_root, "a"), Path.Combine(_root, "b") };
        var started = await Task.WhenAll(roots.Select(StartGatewayAsync));
        var written = roots.Select(r => Path.Combine(r, "admin.key")).Where(File.Exists).ToList();

        Assert.Equal(1, postgres.Count(_schema, "SELECT COUNT(*) FROM gateway_api_keys WHERE revoked_at IS NULL AND scopes LIKE '%admin%'"));
        var admin = Assert.Single(written);
        var token = (await File.ReadAllTextAsync(admin)).Trim();
        foreach (var (channel, _) in started)
        {
            var keys = await new KeyService.KeyServiceClient(channel).ListKeysAsync(new ListKeysRequest(), SecurityHosts.Bearer(token));
            Assert.Equal(token.Split('_')[1], keys.Keys.Single().Id);
        }
    }

    [Fact]
    public async Task Start_SameAdminKeyFileOnEveryReplica_AllAdoptTheSameKey()
    {
        // One Kubernetes Secret mounted on every replica: a key written by the operator before the first start.
        var (id, operatorKey) = ApiKeyToken.Generate();
        Directory.CreateDirectory(_root);
        await File.WriteAllTextAsync(Path.Combine(_root, "admin.key"), operatorKey + "\n");

        var started = await Task.WhenAll(new[] { _root, _root }.Select(StartGatewayAsync));

        Assert.Equal(1, postgres.Count(_schema, "SELECT COUNT(*) FROM gateway_api_keys"));
        foreach (var (channel, _) in started)
        {
            var keys = await new KeyService.KeyServiceClient(channel).ListKeysAsync(new ListKeysRequest(), SecurityHosts.Bearer(operatorKey));
            Assert.Equal(id, keys.Keys.Single().Id);
        }
    }

    [Fact]
    public async Task RevokeKey_LastTwoAdminKeysOnTwoReplicasAtOnce_OneAdminKeyStays()
    {
        var (a, _) = await StartGatewayAsync(_root);
        var (b, _) = await StartGatewayAsync(_root);
        var admin = await AdminKeyAsync(_root);
        var second = await SecurityHosts.CreateKeyAsync(a, admin, "second-admin", ["admin"]);
        Assert.True(await EventuallyAsync(async () => await TryListAsync(b, second) == StatusCode.OK));

        // Each replica revokes the other admin key with the one it leaves; only one of them may win.
        var outcomes = await Task.WhenAll(
            TryRevokeAsync(a, second, admin.Split('_')[1]),
            TryRevokeAsync(b, admin, second.Split('_')[1]));

        Assert.Single(outcomes, o => o == StatusCode.OK);
        Assert.Equal(1, postgres.Count(_schema, "SELECT COUNT(*) FROM gateway_api_keys WHERE revoked_at IS NULL AND scopes LIKE '%admin%'"));
    }

    [Fact]
    public async Task RevokeKey_LastAdminKeyFromOtherReplica_FailedPrecondition()
    {
        var (a, _) = await StartGatewayAsync(_root);
        var (b, _) = await StartGatewayAsync(_root);
        var admin = await AdminKeyAsync(_root);

        var outcome = await TryRevokeAsync(b, admin, admin.Split('_')[1]);

        Assert.Equal(StatusCode.FailedPrecondition, outcome);
        Assert.Equal(StatusCode.OK, await TryListAsync(a, admin));
    }

    [Fact]
    public async Task Reload_LimitedKey_StaysLimited()
    {
        var (a, app) = await StartGatewayAsync(_root);
        var admin = await AdminKeyAsync(_root);
        var token = await SecurityHosts.CreateKeyAsync(a, admin, "limited", ["infer"], requestsPerSecond: 0.001, burst: 1);
        Assert.Equal(StatusCode.OK, await TryInferAsync(a, token));
        Assert.Equal(StatusCode.ResourceExhausted, await TryInferAsync(a, token));

        var reloaded = app.Services.GetRequiredService<ApiKeyStore>().Reload();

        Assert.True(reloaded);
        Assert.Equal(StatusCode.ResourceExhausted, await TryInferAsync(a, token));
    }

    private async Task<(GrpcChannel Channel, WebApplication App)> StartGatewayAsync(string root)
    {
        var (app, grpcPort, _) = await TestHosts.StartGatewayAsync([_replica], registry: null, pollIntervalMs: 100,
            extraSettings: postgres.Settings(root, _schema));
        lock (_hosts)
        {
            _hosts.Insert(0, app);
        }
        await TestHosts.WaitUntilAsync(app, t => t.Resolve("m", "1").Outcome == RouteOutcome.Found);
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        lock (_channels)
        {
            _channels.Add(channel);
        }
        return (channel, app);
    }

    private static async Task<string> AdminKeyAsync(string root) =>
        (await File.ReadAllTextAsync(Path.Combine(root, "admin.key"))).Trim();

    private static async Task<StatusCode> TryInferAsync(GrpcChannel channel, string token) =>
        await StatusOfAsync(() => new GRPCInferenceService.GRPCInferenceServiceClient(channel)
            .ModelInferAsync(Infer, SecurityHosts.Bearer(token)).ResponseAsync);

    private static async Task<StatusCode> TryListAsync(GrpcChannel channel, string token) =>
        await StatusOfAsync(() => new KeyService.KeyServiceClient(channel)
            .ListKeysAsync(new ListKeysRequest(), SecurityHosts.Bearer(token)).ResponseAsync);

    private static async Task<StatusCode> TryRevokeAsync(GrpcChannel channel, string token, string id) =>
        await StatusOfAsync(() => new KeyService.KeyServiceClient(channel)
            .RevokeKeyAsync(new RevokeKeyRequest { Id = id }, SecurityHosts.Bearer(token)).ResponseAsync);

    private static async Task<StatusCode> StatusOfAsync(Func<Task> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    /// <summary>Polls for up to ten seconds (the reload runs every second).</summary>
    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 100; i++)
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(100);
        }
        return false;
    }
}
