using MaaS.Testing;

namespace MaaS.Gateway.Tests.Security;

/// <summary>Key store settings the gateway refuses at start, checked on the real process as an operator sees it.</summary>
public sealed class KeyStoreOptionsTests
{
    [Fact]
    public async Task Start_PostgresWithoutConnectionString_RefusedNamingTheSetting()
    {
        var output = await StartupRefusal.RunAsync("gateway/MaaS.Gateway", new Dictionary<string, string>
        {
            ["Gateway:Auth:Store"] = "Postgres",
        });

        Assert.Contains("Gateway:Auth:ConnectionString is required when Gateway:Auth:Store is Postgres.", output);
    }

    [Fact]
    public async Task Start_UnknownStore_RefusedNamingTheAllowedValues()
    {
        var output = await StartupRefusal.RunAsync("gateway/MaaS.Gateway", new Dictionary<string, string>
        {
            ["Gateway:Auth:Store"] = "Redis",
        });

        Assert.Contains("Gateway:Auth:Store must be Sqlite or Postgres; it is 'Redis'.", output);
    }

    [Fact]
    public async Task Start_RefreshSecondsZero_RefusedNamingTheRange()
    {
        var output = await StartupRefusal.RunAsync("gateway/MaaS.Gateway", new Dictionary<string, string>
        {
            ["Gateway:Auth:RefreshSeconds"] = "0",
        });

        Assert.Contains("Gateway:Auth:RefreshSeconds must be between 1 and 3600.", output);
    }
}
