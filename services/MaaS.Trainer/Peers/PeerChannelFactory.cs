using Grpc.Net.Client;
using MaaS.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Peers;

/// <summary>Makes the channel to one peer address; a seam so in-process tests can route a name to another test server.</summary>
public interface IPeerChannelFactory
{
    /// <summary>A new channel to <paramref name="address"/>; the caller keeps and disposes it.</summary>
    GrpcChannel Create(Uri address);
}

/// <summary>Real HTTP/2 channels, connecting within the peer timeout so a dead peer is skipped quickly.</summary>
public sealed class PeerChannelFactory(IOptions<TrainerOptions> options) : IPeerChannelFactory
{
    /// <inheritdoc />
    public GrpcChannel Create(Uri address) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(options.Value.PeerTimeoutMilliseconds),
            EnableMultipleHttp2Connections = true,
            // Relayed watches stay open for a whole job; pings notice a peer that vanished without closing.
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        },
        MaxReceiveMessageSize = MeshHostingExtensions.MaxMessageBytes,
        MaxSendMessageSize = MeshHostingExtensions.MaxMessageBytes,
    });
}
