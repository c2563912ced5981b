using System.Globalization;
using MaaS.Gateway.Routing;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// The OIP REST twins: /v2/models/{model}[/versions/{version}][/ready|/infer] go to a replica with that
/// version READY (the path is rewritten to the number the gateway resolved), /v2 to any live replica,
/// and the health pair is answered from the routing table.
/// </summary>
public sealed class InferenceRestProxy(RoutingTable table, ReplicaForwarder forwarder, IOptions<GatewayOptions> options)
{
    private readonly string _versionHeader = options.Value.VersionHeader;
    private readonly string _routeKeyHeader = options.Value.RouteKeyHeader;

    /// <summary>GET /v2/health/live: the gateway answers, so it is live.</summary>
    public static IResult Live() => Results.Ok();

    /// <summary>GET /v2/health/ready: ready when at least one replica is ready.</summary>
    public IResult Ready() => table.AnyReplicaReady
        ? Results.Ok()
        : Results.Json(new { error = "No inference replica is ready." }, statusCode: StatusCodes.Status503ServiceUnavailable);

    /// <summary>Model endpoints; <paramref name="suffix"/> is "", "/ready" or "/infer".</summary>
    public async Task ModelAsync(HttpContext context, string suffix)
    {
        var model = context.GetRouteValue("model") as string ?? "";
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // The path's own version wins; the header only fills an empty one.
        var version = context.GetRouteValue("version") as string ?? "";
        var fromHeader = false;
        if (version.Length == 0 && RequestHeaders.Value(context.Request, _versionHeader) is { } header)
        {
            (version, fromHeader) = (header, true);
        }
        var route = table.Resolve(model, version, RequestHeaders.Value(context.Request, _routeKeyHeader));
        var label = route.Outcome == RouteOutcome.Found || table.IsKnownModel(model) ? model : GatewayMetrics.UnknownModel;
        try
        {
            if (route.Outcome != RouteOutcome.Found)
            {
                await GatewayResponses.WriteRestErrorAsync(context, route.HttpStatus, route.Error);
                return;
            }
            var pinned = new PathString(string.Create(CultureInfo.InvariantCulture, $"/v2/models/{model}/versions/{route.Version}{suffix}"));
            GatewayTransformer.SetPlan(context, new ForwardPlan(route.ResolvedByGateway || fromHeader ? route.Version : null, pinned));
            await forwarder.ForwardAsync(context, route.Destinations, grpc: false, Wrap(context));
        }
        finally
        {
            GatewayMetrics.Observe(context, label, route.Outcome == RouteOutcome.Found ? route.Version.ToString(CultureInfo.InvariantCulture) : "",
                grpc: false, started);
        }
    }

    /// <summary>GET /v2 (server metadata): any live replica answers for the fleet.</summary>
    public async Task ServerAsync(HttpContext context)
    {
        var live = table.LiveReplicas();
        if (live.Count == 0)
        {
            await GatewayResponses.WriteRestErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "No inference replica is answering.");
            return;
        }
        await forwarder.ForwardAsync(context, live, grpc: false, Wrap(context));
    }

    private static ReplayStream Wrap(HttpContext context)
    {
        // Lets a retry see whether the body was already sent somewhere.
        var body = new ReplayStream([], 0, context.Request.Body);
        context.Request.Body = body;
        return body;
    }
}
