using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// Sends a request to the first of the chosen replicas; when that replica cannot even be connected to
/// (it died since the last poll), tries the next one once, since nothing reached the first. With
/// <c>retryUnavailable</c> (idempotent ModelInfer with a buffered body) an answer of Unavailable that
/// carried no message is also retried once on the next replica, within the caller's deadline.
/// </summary>
public sealed partial class ReplicaForwarder(
    IHttpForwarder forwarder,
    ForwardingClient client,
    GatewayTransformer transformer,
    UpstreamFailures failures,
    ILogger<ReplicaForwarder> logger)
{
    private const int MaxAttempts = 2;

    /// <summary>Forwards over gRPC (h2c) or REST (HTTP/1.1); on failure answers the client itself.</summary>
    public async Task ForwardAsync(HttpContext context, IReadOnlyList<ReplicaOptions> destinations, bool grpc, ReplayStream? body,
        bool retryUnavailable = false)
    {
        var attempts = Math.Min(MaxAttempts, destinations.Count);
        var deadline = retryUnavailable ? GrpcDeadline.From(context.Request) : null;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var replica = destinations[attempt];
            var address = grpc ? replica.GrpcAddress : replica.RestAddress;
            // Only an attempt that may be retried holds back the response start.
            var deferred = retryUnavailable && attempt + 1 < attempts
                && context.Features.Get<IHttpResponseBodyFeature>() is { } bodyFeature ? new DeferredResponseBody(bodyFeature) : null;
            if (deferred is not null)
            {
                context.Features.Set<IHttpResponseBodyFeature>(deferred);
            }
            ForwarderError error;
            try
            {
                error = await forwarder.SendAsync(context, address, client.Invoker,
                    grpc ? ForwardingClient.Grpc : ForwardingClient.Rest, transformer);
            }
            finally
            {
                deferred?.Restore(context);
            }
            if (error == ForwarderError.None)
            {
                if (retryUnavailable && attempt + 1 < attempts && !context.Response.HasStarted
                    && GatewayMetrics.ReceivedGrpcStatus(context) == StatusCode.Unavailable
                    && !context.RequestAborted.IsCancellationRequested
                    && (deadline?.TrySetRemaining(context.Request) ?? true) && (body?.TryRewind() ?? false))
                {
                    failures.RetryingAfterUnavailable(replica, destinations[attempt + 1]);
                    ClearResponse(context);
                    continue;
                }
                return;
            }

            var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            if (context.RequestAborted.IsCancellationRequested)
            {
                return; // The client left; nobody is there to answer (and the replica is not to blame).
            }
            var connectFailure = failures.Failed(replica, exception, exception?.Message ?? error.ToString());
            var retry = attempt + 1 < attempts && !context.Response.HasStarted
                && connectFailure && (body?.TryRewind() ?? true);
            if (retry)
            {
                failures.RetryingAfterConnectFailure(replica, destinations[attempt + 1], exception?.Message ?? error.ToString());
                context.Features.Set<IForwarderErrorFeature>(null);
                ClearResponse(context);
                continue;
            }

            LogForwardFailed(logger, replica.Name, context.Request.Path.Value ?? "", error, exception?.Message ?? "");
            var message = $"inference replica '{replica.Name}' could not be reached ({error})";
            await (grpc
                ? GatewayResponses.WriteGrpcErrorAsync(context, StatusCode.Unavailable, message)
                : GatewayResponses.WriteRestErrorAsync(context, StatusCodes.Status503ServiceUnavailable, message));
            return;
        }
    }

    /// <summary>Forgets the failed attempt's answer (status, headers and trailers) before the next one.</summary>
    private static void ClearResponse(HttpContext context)
    {
        context.Response.Clear();
        if (context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { IsReadOnly: false } trailers)
        {
            trailers.Clear();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forwarding {Path} to replica {Replica} failed: {Error} {Reason}")]
    private static partial void LogForwardFailed(ILogger logger, string replica, string path, ForwarderError error, string reason);
}
