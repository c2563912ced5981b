using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MaaS.Gateway.Security;

/// <summary>API keys and rate limits of the gateway (section <c>Gateway:Auth</c>).</summary>
public sealed class GatewaySecurityOptions
{
    public const string Section = "Gateway:Auth";

    /// <summary>Off only for tests and trusted networks: every call then passes without a key.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Local development: calls that need only the infer scope pass without a key (a key that is sent is still checked).</summary>
    public bool OpenInference { get; set; }

    /// <summary>
    /// Where the bootstrap admin key is written (mode 600). Relative paths are resolved against the working
    /// directory, as Mesh:DataDirectory is, so the local run (started from the repository root) gets .maas/admin.key.
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    public string AdminKeyFile { get; set; } = ".maas/admin.key";

    /// <summary>Refill rate of a new key's token bucket when CreateKey does not give one; 0 = unlimited.</summary>
    [Range(0, TokenBucket.MaxRate)]
    public double DefaultRequestsPerSecond { get; set; }

    /// <summary>Bucket size of a new key when CreateKey does not give one; 0 = the rate rounded up (at least 1).</summary>
    [Range(0, TokenBucket.MaxBurst)]
    public int DefaultBurst { get; set; }

    /// <summary>
    /// Where the keys are kept: Sqlite ({Mesh:DataDirectory}/gateway.db, one gateway) or Postgres
    /// (<see cref="ConnectionString"/>, shared by every gateway replica).
    /// </summary>
    public string Store { get; set; } = StoreSqlite;

    /// <summary>Npgsql connection string when <see cref="Store"/> is Postgres (e.g. <c>Host=postgres;Username=maas;Database=maas</c>).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// How often the in-memory keys are reloaded from the store, in seconds: the safety net for an
    /// ApiKeysChanged event another replica published and this one missed (broker away).
    /// </summary>
    [Range(1, 3600, ErrorMessage = "Gateway:Auth:RefreshSeconds must be between 1 and 3600.")]
    public int RefreshSeconds { get; set; } = 10;

    /// <summary><see cref="Store"/> values.</summary>
    public const string StoreSqlite = "Sqlite", StorePostgres = "Postgres";
}

/// <summary>Checks what data annotations cannot: a usable key file path, a known store and its connection string.</summary>
public sealed class GatewaySecurityOptionsValidator : IValidateOptions<GatewaySecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewaySecurityOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }
        var path = options.AdminKeyFile;
        if (string.IsNullOrWhiteSpace(path) || path.IndexOfAny(Path.GetInvalidPathChars()) >= 0
            || path.EndsWith('/') || Directory.Exists(path))
        {
            return ValidateOptionsResult.Fail(
                $"{GatewaySecurityOptions.Section}:AdminKeyFile must be a file path such as .maas/admin.key; it is '{path}'.");
        }
        if (options.Store is not (GatewaySecurityOptions.StoreSqlite or GatewaySecurityOptions.StorePostgres))
        {
            return ValidateOptionsResult.Fail(
                $"{GatewaySecurityOptions.Section}:Store must be {GatewaySecurityOptions.StoreSqlite} or {GatewaySecurityOptions.StorePostgres}; it is '{options.Store}'.");
        }
        if (options.Store == GatewaySecurityOptions.StorePostgres && string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail(
                $"{GatewaySecurityOptions.Section}:ConnectionString is required when {GatewaySecurityOptions.Section}:Store is {GatewaySecurityOptions.StorePostgres}.");
        }
        if (options.Store == GatewaySecurityOptions.StorePostgres)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            }
            catch (ArgumentException e)
            {
                // The message names the bad keyword; the string itself is not repeated (it may hold a password).
                return ValidateOptionsResult.Fail(
                    $"{GatewaySecurityOptions.Section}:ConnectionString is not a valid Npgsql connection string: {e.Message}");
            }
        }
        return ValidateOptionsResult.Success;
    }
}
