using Grpc.Core;
using MaaS.Gateway.Routing;
using MaaS.ServiceDefaults;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// /inference.GRPCInferenceService/{method}: model calls go to a replica that has the requested version
/// READY (found from fields 1 and 2 of the message, which is forwarded byte for byte); server-level
/// calls go to any live replica. A ModelStreamInfer stream goes, whole, to one replica chosen by its first message.
/// </summary>
public sealed partial class InferenceGrpcProxy(
    RoutingTable table,
    ReplicaForwarder forwarder,
    UnaryForwarder unary,
    ShadowMirror shadow,
    IOptions<GatewayOptions> options,
    ILogger<InferenceGrpcProxy> logger)
{
    private readonly string _versionHeader = options.Value.VersionHeader;
    private readonly string _routeKeyHeader = options.Value.RouteKeyHeader;
    private readonly int _retryBufferBytes = options.Value.RetryBufferBytes;

    public const string Service = "inference.GRPCInferenceService";

    public async Task HandleAsync(HttpContext context)
    {
        if (!GatewayResponses.IsGrpc(context.Request))
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        var method = context.GetRouteValue("method") as string ?? "";
        switch (method)
        {
            case "ModelInfer":
                await RouteByModelAsync(context, method, "model_name", emptyNameMeansAll: false);
                break;
            case "ModelStreamInfer":
                await RouteByModelAsync(context, method, "model_name", emptyNameMeansAll: false, streaming: true);
                break;
            case "ModelReady" or "ModelMetadata" or "ModelConfig":
                await RouteByModelAsync(context, method, "name", emptyNameMeansAll: false);
                break;
            case "ModelStatistics":
                await RouteByModelAsync(context, method, "name", emptyNameMeansAll: true);
                break;
            case "ServerLive" or "ServerReady" or "ServerMetadata" or "RepositoryIndex":
                await ForwardToAnyLiveAsync(context, body: null);
                break;
            default:
                await GatewayResponses.WriteGrpcErrorAsync(context, StatusCode.Unimplemented,
                    $"Method {Service}/{method} is not offered through the gateway.");
                break;
        }
    }

    /// <param name="streaming">
    /// A client stream (ModelStreamInfer): routed by its first message to one replica for the whole stream and
    /// streamed through YARP both ways; never buffered, retried or shadowed, and with no limit on the whole body
    /// (the scanner bounds the first message, the replica every one).
    /// </param>
    private async Task RouteByModelAsync(HttpContext context, string method, string nameField, bool emptyNameMeansAll, bool streaming = false)
    {
        // One frame of the largest message the mesh accepts (the default limit would cut it by the 5-byte header).
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = streaming ? null : MeshHostingExtensions.MaxMessageBytes + GrpcFrameScanner.HeaderLength;
        }
        var peeked = await GrpcRequestPeeker.PeekAsync(context.Request.Body, context.RequestAborted);
        context.Request.Body = peeked.Body;
        // The limit is fixed now that reading began; YARP would try to lift it and warn on every call.
        context.Features.Set<IHttpMaxRequestBodySizeFeature>(streaming ? LimitAlreadySet.Unlimited : LimitAlreadySet.Instance);
        var scan = peeked.Scan;
        if (scan.Status != FrameScanStatus.Complete)
        {
            await GatewayResponses.WriteGrpcErrorAsync(context,
                scan.Status == FrameScanStatus.TooLarge ? StatusCode.ResourceExhausted : StatusCode.InvalidArgument, scan.Error);
            return;
        }
        if (scan.Name.Length == 0)
        {
            if (emptyNameMeansAll)
            {
                await ForwardToAnyLiveAsync(context, peeked.Body);
                return;
            }
            await GatewayResponses.WriteGrpcErrorAsync(context, StatusCode.InvalidArgument,
                $"{nameField} must name a model; it is empty.");
            return;
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // The message's own version wins; the header only fills an empty one.
        var version = scan.Version;
        var fromHeader = false;
        if (version.Length == 0 && RequestHeaders.Value(context.Request, _versionHeader) is { } pinned)
        {
            (version, fromHeader) = (pinned, true);
        }
        var route = table.Resolve(scan.Name, version, RequestHeaders.Value(context.Request, _routeKeyHeader));
        var label = route.Outcome == RouteOutcome.Found || table.IsKnownModel(scan.Name) ? scan.Name : GatewayMetrics.UnknownModel;
        try
        {
            if (route.Outcome != RouteOutcome.Found)
            {
                LogNotRoutable(logger, method, scan.Name, version, route.Error);
                await GatewayResponses.WriteGrpcErrorAsync(context, route.GrpcStatus, route.Error);
                return;
            }
            // A version taken from the header is not in the message, so the replica must be told it.
            long? resolvedVersion = route.ResolvedByGateway || fromHeader ? route.Version : null;
            if (streaming)
            {
                GatewayTransformer.SetPlan(context, new ForwardPlan(resolvedVersion, Path: null));
                await forwarder.ForwardAsync(context, route.Destinations, grpc: true, peeked.Body);
                return;
            }
            var isInfer = method == "ModelInfer";
            var shadowTarget = isInfer ? shadow.Draw(scan.Name) : null;
            if (_retryBufferBytes > 0)
            {
                // These calls are unary: a body up to the retry buffer is read whole (into pooled memory) and
                // takes the lean path; inference is idempotent, so it can be sent again if a replica answers Unavailable.
                var (whole, stream) = await GrpcRequestPeeker.ReadToEndAsync(peeked, _retryBufferBytes, context.RequestAborted);
                if (whole is not null)
                {
                    var handedToShadow = false;
                    try
                    {
                        await unary.ForwardAsync(context, route.Destinations, whole.Memory, resolvedVersion, retryUnavailable: isInfer);
                        if (shadowTarget is { } target)
                        {
                            // Queued only once the caller's answer has been sent, so the copy never delays it.
                            handedToShadow = true;
                            context.Response.OnCompleted(() =>
                            {
                                shadow.Enqueue(scan.Name, target, whole);
                                return Task.CompletedTask;
                            });
                        }
                    }
                    finally
                    {
                        if (!handedToShadow)
                        {
                            whole.Return();
                        }
                    }
                    return;
                }
                context.Request.Body = stream;
                GatewayTransformer.SetPlan(context, new ForwardPlan(resolvedVersion, Path: null));
                await forwarder.ForwardAsync(context, route.Destinations, grpc: true, stream);
                return;
            }
            // Larger than the retry buffer (or retries off): streamed through YARP, not retried on Unavailable.
            GatewayTransformer.SetPlan(context, new ForwardPlan(resolvedVersion, Path: null));
            await forwarder.ForwardAsync(context, route.Destinations, grpc: true, peeked.Body);
        }
        finally
        {
            GatewayMetrics.Observe(context, label, route.Outcome == RouteOutcome.Found ? route.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) : "",
                grpc: true, started);
        }
    }

    private async Task ForwardToAnyLiveAsync(HttpContext context, ReplayStream? body)
    {
        var live = table.LiveReplicas();
        if (live.Count == 0)
        {
            await GatewayResponses.WriteGrpcErrorAsync(context, StatusCode.Unavailable, "No inference replica is answering.");
            return;
        }
        if (body is null)
        {
            // Wrapped so that a retry can tell whether the body was already consumed.
            body = new ReplayStream([], 0, context.Request.Body);
            context.Request.Body = body;
        }
        await forwarder.ForwardAsync(context, live, grpc: true, body);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} for model {Model} version '{Version}' not routable: {Reason}")]
    private static partial void LogNotRoutable(ILogger logger, string method, string model, string version, string reason);

    /// <summary>Stands in for the body-size feature once the gateway has set the limit itself.</summary>
    private sealed class LimitAlreadySet(long? limit) : IHttpMaxRequestBodySizeFeature
    {
        public static readonly LimitAlreadySet Instance = new(MeshHostingExtensions.MaxMessageBytes + GrpcFrameScanner.HeaderLength);

        /// <summary>A stream's body: as many messages as the client sends.</summary>
        public static readonly LimitAlreadySet Unlimited = new(null);

        public bool IsReadOnly => false;

        public long? MaxRequestBodySize
        {
            get => limit;
            set { }
        }
    }
}
