using Grpc.Net.Client;

namespace MaaS.Testing;

/// <summary>gRPC channels for measuring clients.</summary>
public static class GrpcChannels
{
    /// <summary>A channel with its own connection pool (several HTTP/2 connections allowed), no proxy, 64 MiB messages.</summary>
    public static GrpcChannel Dedicated(string address) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler
        {
            UseProxy = false,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(5),
        },
        DisposeHttpClient = true,
        MaxReceiveMessageSize = 64 * 1024 * 1024,
        MaxSendMessageSize = 64 * 1024 * 1024,
    });
}
