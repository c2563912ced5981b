using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway;

/// <summary>The inference replicas the gateway routes to and how often it asks them what they serve.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Every inference replica; at least one.</summary>
    public List<ReplicaOptions> Replicas { get; set; } = [];

    /// <summary>How often each replica's RepositoryIndex and the registry's aliases are polled.</summary>
    [Range(50, 600_000)]
    public int PollIntervalMs { get; set; } = 1000;

    /// <summary>Request header that pins a version (number or alias) when the call leaves it empty.</summary>
    [Required, RegularExpression("^[a-z0-9-]{1,64}$", ErrorMessage = "Gateway:VersionHeader must be 1-64 lowercase letters, digits or '-'.")]
    public string VersionHeader { get; set; } = "x-model-version";

    /// <summary>Request header whose value keeps one caller on one version of a weighted deployment.</summary>
    [Required, RegularExpression("^[a-z0-9-]{1,64}$", ErrorMessage = "Gateway:RouteKeyHeader must be 1-64 lowercase letters, digits or '-'.")]
    public string RouteKeyHeader { get; set; } = "x-maas-route-key";

    /// <summary>
    /// ModelInfer bodies up to this size are held in memory so that an Unavailable answer can be retried
    /// on another replica; larger ones stream through and are not retried (0 = never retry on Unavailable).
    /// </summary>
    [Range(0, 64 * 1024 * 1024)]
    public int RetryBufferBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Shadow copies waiting to be sent; when full, new copies are dropped (never the caller's call).</summary>
    [Range(1, 100_000)]
    public int ShadowQueueCapacity { get; set; } = 256;
}

/// <summary>One inference replica: its gRPC (h2c) and REST (HTTP/1.1) addresses.</summary>
public sealed class ReplicaOptions
{
    /// <summary>Unique name used in logs.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// Pool the replica belongs to: a deployment entry that names a pool is served only by that pool's
    /// replicas (a pinned version or an alias goes to any pool that has it ready).
    /// </summary>
    public string Pool { get; set; } = "default";

    /// <summary>
    /// When true the host of the addresses is a DNS name (a compose service, a Kubernetes headless
    /// service) and every address it resolves to is a replica of its own, named "Name@address";
    /// resolved again on every poll, so replicas that come and go are followed.
    /// </summary>
    public bool ResolveDns { get; set; }

    /// <summary>gRPC endpoint, e.g. http://127.0.0.1:7101.</summary>
    public string GrpcAddress { get; set; } = "";

    /// <summary>REST endpoint, e.g. http://127.0.0.1:7100.</summary>
    public string RestAddress { get; set; } = "";
}

/// <summary>
/// Checks the replica list entry by entry, because data annotations cannot name which list entry is
/// wrong and a bad address would otherwise only show up as failed forwards.
/// </summary>
public sealed partial class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial System.Text.RegularExpressions.Regex PoolName();

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>();
        if (options.Replicas.Count == 0)
        {
            errors.Add($"{GatewayOptions.Section}:Replicas must list at least one inference replica " +
                       "(e.g. --Gateway:Replicas:0:Name=a --Gateway:Replicas:0:GrpcAddress=http://127.0.0.1:7101 --Gateway:Replicas:0:RestAddress=http://127.0.0.1:7100).");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Replicas.Count; i++)
        {
            var replica = options.Replicas[i];
            var key = $"{GatewayOptions.Section}:Replicas:{i}";
            if (string.IsNullOrWhiteSpace(replica.Name))
            {
                errors.Add($"{key}:Name must be set.");
            }
            else if (!names.Add(replica.Name))
            {
                errors.Add($"{key}:Name '{replica.Name}' is used by another replica; names must be unique.");
            }
            if (!PoolName().IsMatch(replica.Pool))
            {
                errors.Add($"{key}:Pool must be 1-64 letters, digits, '.', '_' or '-' (as deployment pools are); it is '{replica.Pool}'.");
            }
            CheckAddress(errors, $"{key}:GrpcAddress", replica.GrpcAddress);
            CheckAddress(errors, $"{key}:RestAddress", replica.RestAddress);
            if (replica.ResolveDns && Uri.TryCreate(replica.GrpcAddress, UriKind.Absolute, out var grpc)
                && Uri.TryCreate(replica.RestAddress, UriKind.Absolute, out var rest) && grpc.Host != rest.Host)
            {
                errors.Add($"{key}: with ResolveDns the GrpcAddress and RestAddress must name the same host, since each resolved address serves both.");
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckAddress(List<string> errors, string key, string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp
            || uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query))
        {
            errors.Add($"{key} must be an absolute http URL with no path, such as http://127.0.0.1:7101; it is '{value}'.");
        }
    }
}
