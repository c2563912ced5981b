using System.Globalization;
using Yarp.ReverseProxy.Forwarder;

namespace MaaS.Gateway.Forwarding;

/// <summary>What the gateway decided about one request, read by the transformer when it is sent.</summary>
public sealed record ForwardPlan(long? ResolvedVersion, PathString? Path);

/// <summary>
/// Copies the request as is, plus the version the gateway chose when the client did not pin a number,
/// so the replica serves the same version the gateway routed on.
/// </summary>
public sealed class GatewayTransformer : HttpTransformer
{
    /// <summary>Header with the version the gateway resolved (from an empty version or an alias).</summary>
    public const string ResolvedVersionHeader = "x-maas-resolved-version";

    private static readonly object PlanKey = new();

    public static void SetPlan(HttpContext context, ForwardPlan plan) => context.Items[PlanKey] = plan;

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest,
        string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        // The replica's own authority, not the gateway's.
        proxyRequest.Headers.Host = null;
        // Only the gateway may say which version was resolved.
        proxyRequest.Headers.Remove(ResolvedVersionHeader);
        if (httpContext.Items[PlanKey] is ForwardPlan plan)
        {
            if (plan.ResolvedVersion is { } version)
            {
                proxyRequest.Headers.TryAddWithoutValidation(ResolvedVersionHeader, version.ToString(CultureInfo.InvariantCulture));
            }
            if (plan.Path is { } path)
            {
                proxyRequest.RequestUri = RequestUtilities.MakeDestinationAddress(destinationPrefix, path, httpContext.Request.QueryString);
            }
        }
    }
}
