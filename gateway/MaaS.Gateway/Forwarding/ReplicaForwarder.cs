using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;
using MaaS.Gateway.Routing;
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
    RoutingTable table,
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
                    LogRetryUnavailable(logger, replica.Name, destinations[attempt + 1].Name);
                    GatewayMetrics.Retry("unavailable");
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
            GatewayMetrics.UpstreamError(replica.Name);
            var connectFailure = IsConnectFailure(exception);
            if (connectFailure && table.EjectReplica(replica.Name))
            {
                // Passive health: nothing listens there any more, so no call waits for the next poll to learn it.
                LogEjected(logger, replica.Name, exception?.Message ?? error.ToString());
            }
            var retry = attempt + 1 < attempts && !context.Response.HasStarted
                && connectFailure && (body?.TryRewind() ?? true);
            if (retry)
            {
                LogRetry(logger, replica.Name, destinations[attempt + 1].Name, exception?.Message ?? error.ToString());
                GatewayMetrics.Retry("connect");
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

    /// <summary>True when the connection itself failed, so the request certainly did not reach the replica.</summary>
    public static bool IsConnectFailure(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } or SocketException)
            {
                return true;
            }
        }
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Replica} refused the connection; retrying on {Next}: {Reason}")]
    private static partial void LogRetry(ILogger logger, string replica, string next, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Replica} is out until it answers a poll: the connection failed ({Reason})")]
    private static partial void LogEjected(ILogger logger, string replica, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Replica} answered Unavailable; retrying on {Next}")]
    private static partial void LogRetryUnavailable(ILogger logger, string replica, string next);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forwarding {Path} to replica {Replica} failed: {Error} {Reason}")]
    private static partial void LogForwardFailed(ILogger logger, string replica, string path, ForwarderError error, string reason);
}
