using System.Diagnostics;
using System.Net;
using Yarp.ReverseProxy.Forwarder;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// The one outgoing HTTP client of the gateway (a proxy must not follow redirects, keep cookies or go
/// through a system proxy) and the request settings for each kind of upstream.
/// </summary>
public sealed class ForwardingClient : IDisposable
{
    /// <summary>gRPC over cleartext HTTP/2: an exact version, else the h2c backend answers 400.</summary>
    public static readonly ForwarderRequestConfig Grpc = new()
    {
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        // Admin streams (uploads, training progress) can be quiet for a long time.
        ActivityTimeout = TimeSpan.FromHours(1),
    };

    /// <summary>REST to a replica's HTTP/1.1 port.</summary>
    public static readonly ForwarderRequestConfig Rest = new()
    {
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        ActivityTimeout = TimeSpan.FromMinutes(10),
    };

    public ForwardingClient()
    {
        Invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        });
    }

    public HttpMessageInvoker Invoker { get; }

    public void Dispose() => Invoker.Dispose();
}
