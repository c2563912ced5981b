using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

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
}

/// <summary>Checks what data annotations cannot: a usable key file path.</summary>
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
        return ValidateOptionsResult.Success;
    }
}
