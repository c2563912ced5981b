using MaaS.Gateway.Security;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Tests.Security;

/// <summary>A reload that cannot read the store keeps the keys it had (never drops them all).</summary>
public sealed class ApiKeyStoreReloadTests : IDisposable
{
    private readonly string _root = SecurityHosts.TempRoot();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Reload_StoreUnreadable_FalseAndKeysKept()
    {
        var data = Path.Combine(_root, "data");
        var store = new ApiKeyStore(new SqliteApiKeyDatabase(data),
            Options.Create(new GatewaySecurityOptions { AdminKeyFile = Path.Combine(_root, "admin.key") }), NullLogger<ApiKeyStore>.Instance);
        var (key, token) = store.Create("kept", ApiScopes.Infer, 0, 0);
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(data, "gateway.db")};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "ALTER TABLE api_keys RENAME TO api_keys_away";
            command.ExecuteNonQuery();
        }

        var reloaded = store.Reload();

        Assert.False(reloaded);
        Assert.True(store.TryFind(key.Id, out var entry));
        Assert.True(ApiKeyToken.Matches(token, entry.Hash));
    }
}
