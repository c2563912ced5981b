using MaaS.Contracts;
using MaaS.Gateway.Security;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MaaS.Gateway.Tests.Security;

/// <summary>
/// The ApiKeysChanged consumer on the bus test harness, over a real SQLite key store: a key another replica
/// wrote to the shared store becomes usable here when the event arrives, and a revoked one stops working.
/// </summary>
public sealed class ApiKeysChangedConsumerTests : IAsyncLifetime
{
    private readonly string _root = SecurityHosts.TempRoot();
    private ServiceProvider _services = null!;
    private ITestHarness _harness = null!;

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddOptions<GatewaySecurityOptions>().Configure(o => o.AdminKeyFile = Path.Combine(_root, "admin.key"));
        services.AddSingleton<IApiKeyDatabase>(new SqliteApiKeyDatabase(Path.Combine(_root, "data")));
        services.AddSingleton<ApiKeyStore>();
        services.AddMassTransitTestHarness(x => x.AddConsumer<ApiKeysChangedConsumer>());
        _services = services.BuildServiceProvider(validateScopes: true);
        _services.GetRequiredService<ApiKeyStore>();
        _harness = _services.GetRequiredService<ITestHarness>();
        await _harness.Start();
    }

    public async Task DisposeAsync()
    {
        await _harness.Stop();
        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Consume_KeyCreatedByAnotherReplica_KeyUsableAfterTheEvent()
    {
        var store = _services.GetRequiredService<ApiKeyStore>();
        var (id, token) = ApiKeyToken.Generate();
        using (var otherReplica = new SqliteApiKeyDatabase(Path.Combine(_root, "data")))
        {
            otherReplica.Write(keys =>
            {
                keys.Insert(new ApiKeyRecord(id, "from-b", ApiScopes.Infer, 0, 0, DateTimeOffset.UtcNow, null), ApiKeyToken.Hash(token));
                return true;
            });
        }
        var knownBefore = store.TryFind(id, out _);

        await _harness.Bus.Publish(new ApiKeysChanged { KeyId = id, Change = ApiKeysChanged.Created });
        var consumed = await _harness.GetConsumerHarness<ApiKeysChangedConsumer>().Consumed.Any<ApiKeysChanged>();

        Assert.False(knownBefore);
        Assert.True(consumed);
        Assert.True(store.TryFind(id, out var entry));
        Assert.True(ApiKeyToken.Matches(token, entry.Hash));
    }

    [Fact]
    public async Task Consume_KeyRevokedByAnotherReplica_KeyUnknownAfterTheEvent()
    {
        var store = _services.GetRequiredService<ApiKeyStore>();
        var (key, _) = store.Create("to-revoke", ApiScopes.Infer, 0, 0);
        using (var otherReplica = new SqliteApiKeyDatabase(Path.Combine(_root, "data")))
        {
            otherReplica.Write(keys =>
            {
                keys.MarkRevoked(key.Id, DateTimeOffset.UtcNow);
                return true;
            });
        }
        var knownBefore = store.TryFind(key.Id, out _);

        await _harness.Bus.Publish(new ApiKeysChanged { KeyId = key.Id, Change = ApiKeysChanged.Revoked });
        var consumed = await _harness.GetConsumerHarness<ApiKeysChangedConsumer>().Consumed.Any<ApiKeysChanged>();

        Assert.True(knownBefore);
        Assert.True(consumed);
        Assert.False(store.TryFind(key.Id, out _));
    }
}
