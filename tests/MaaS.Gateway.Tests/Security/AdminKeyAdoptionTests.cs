using MaaS.Gateway.Security;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Tests.Security;

/// <summary>
/// The admin key file as one Secret shared by replicas: a key the store has never seen is adopted even when
/// another admin key exists (a rotated Secret), and a key revoked once is not brought back by a restart.
/// </summary>
public sealed class AdminKeyAdoptionTests : IDisposable
{
    private readonly string _root = SecurityHosts.TempRoot();

    private string KeyFile => Path.Combine(_root, "admin.key");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Start_FileHoldsANewKeyWhileAnotherAdminExists_BothAdminKeysActive()
    {
        Open();
        var firstId = ReadId();
        var (id, token) = ApiKeyToken.Generate();
        File.WriteAllText(KeyFile, token + "\n");

        var store = Open();

        Assert.True(store.TryFind(firstId, out _));
        Assert.True(store.TryFind(id, out var adopted));
        Assert.True(ApiKeyToken.Matches(token, adopted.Hash));
        Assert.Equal($"admin-{id}", adopted.Record.Name);
    }

    [Fact]
    public void Start_FileHoldsARevokedKey_StaysRevoked()
    {
        var store = Open();
        var firstId = ReadId();
        store.Create("second-admin", ApiScopes.Admin, 0, 0);
        store.Revoke(firstId);

        var restarted = Open();

        Assert.False(restarted.TryFind(firstId, out _));
        Assert.Single(restarted.List(includeRevoked: false), k => k.Scopes.HasFlag(ApiScopes.Admin));
    }

    private ApiKeyStore Open() => new(new SqliteApiKeyDatabase(Path.Combine(_root, "data")),
        Options.Create(new GatewaySecurityOptions { AdminKeyFile = KeyFile }), NullLogger<ApiKeyStore>.Instance);

    private string ReadId() => File.ReadAllText(KeyFile).Trim().Split('_')[1];
}
