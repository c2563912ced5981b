namespace MaaS.Gateway.Forwarding;

/// <summary>Reads the gateway's own request headers (same name in gRPC metadata and HTTP).</summary>
public static class RequestHeaders
{
    /// <summary>The header's first value, trimmed; null when absent or blank.</summary>
    public static string? Value(HttpRequest request, string name)
    {
        var values = request.Headers[name];
        var value = values.Count == 0 ? null : values[0]?.Trim();
        return string.IsNullOrEmpty(value) ? null : value;
    }
}
