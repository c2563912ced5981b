using Prometheus;

namespace MaaS.Gateway.Security;

/// <summary>
/// Calls the gateway refused before forwarding (served on Mesh:MetricsPort with the other gateway metrics).
/// Labels are bounded: a fixed set of reasons, and key names that only an admin can create.
/// </summary>
public static class SecurityMetrics
{
    /// <summary>No authorization header on a call that needs a key.</summary>
    public const string Missing = "missing";
    /// <summary>A header that is not "Bearer maas_&lt;id&gt;_&lt;secret&gt;".</summary>
    public const string Malformed = "malformed";
    /// <summary>A well-formed key the gateway does not know (never issued, revoked, or a wrong secret).</summary>
    public const string Unknown = "unknown";
    /// <summary>A valid key without the scope the call needs.</summary>
    public const string Scope = "scope";

    private static readonly Counter AuthRejected = Metrics.CreateCounter(
        "maas_gateway_auth_rejected_total", "Calls refused by API key checks, by reason (missing, malformed, unknown: Unauthenticated; scope: PermissionDenied).",
        new CounterConfiguration { LabelNames = ["reason"] });

    private static readonly Counter RateLimited = Metrics.CreateCounter(
        "maas_gateway_rate_limited_total", "Calls refused with ResourceExhausted (REST 429) because the key's token bucket was empty, by key name.",
        new CounterConfiguration { LabelNames = ["key"] });

    /// <summary>Counts one call refused by the key check.</summary>
    public static void Rejected(string reason) => AuthRejected.WithLabels(reason).Inc();

    /// <summary>Counts one call refused by <paramref name="keyName"/>'s rate limit.</summary>
    public static void Limited(string keyName) => RateLimited.WithLabels(keyName).Inc();
}
