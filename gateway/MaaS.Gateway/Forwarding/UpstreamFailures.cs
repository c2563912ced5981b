using System.Net.Http;
using System.Net.Sockets;
using MaaS.Gateway.Routing;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// What both forwarders (the lean unary path and YARP's) do when a replica fails or a call is tried again:
/// count it, take a replica that cannot be connected to out at once (passive health), and log the retry.
/// </summary>
public sealed partial class UpstreamFailures(RoutingTable table, ILogger<UpstreamFailures> logger)
{
    /// <summary>Records a failed forward; true when the connection itself failed (so the request never arrived).</summary>
    public bool Failed(ReplicaOptions replica, Exception? exception, string reason)
    {
        GatewayMetrics.UpstreamError(replica.Name);
        var connectFailure = IsConnectFailure(exception);
        if (connectFailure && table.EjectReplica(replica.Name))
        {
            // Nothing listens there any more, so no call waits for the next poll to learn it.
            LogEjected(logger, replica.Name, reason);
        }
        return connectFailure;
    }

    /// <summary>A call is sent again to <paramref name="next"/> after its connection to <paramref name="replica"/> failed.</summary>
    public void RetryingAfterConnectFailure(ReplicaOptions replica, ReplicaOptions next, string reason)
    {
        LogRetry(logger, replica.Name, next.Name, reason);
        GatewayMetrics.Retry("connect");
    }

    /// <summary>A call is sent again to <paramref name="next"/> after <paramref name="replica"/> answered Unavailable.</summary>
    public void RetryingAfterUnavailable(ReplicaOptions replica, ReplicaOptions next)
    {
        LogRetryUnavailable(logger, replica.Name, next.Name);
        GatewayMetrics.Retry("unavailable");
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
}
