namespace MaaS.Trainer.Peers;

/// <summary>
/// One entry of Trainer:Peers: a fixed address, or a DNS name whose every address is a peer
/// (dns:///host:port, or an http(s) address when Trainer:PeersResolveDns is on).
/// </summary>
/// <param name="Scheme">http or https.</param>
/// <param name="Host">Host name or address literal.</param>
/// <param name="Port">The peer's gRPC port.</param>
/// <param name="Resolve">True when the host is resolved to all its addresses on use.</param>
public sealed record PeerAddress(string Scheme, string Host, int Port, bool Resolve)
{
    private const string DnsPrefix = "dns:///";

    /// <summary>The address itself, when it is not resolved.</summary>
    public Uri Fixed => new UriBuilder(Scheme, Host, Port).Uri;

    /// <summary>The entry read, or null when it is neither an absolute http(s) address nor dns:///host:port.</summary>
    public static PeerAddress? TryParse(string? text, bool resolveDns)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        text = text.Trim();
        if (text.StartsWith(DnsPrefix, StringComparison.OrdinalIgnoreCase))
        {
            // dns:///name:port (gRPC's name syntax, no DNS server authority): the port is required, no path.
            var rest = text[DnsPrefix.Length..];
            if (rest.Contains('/') || !Uri.TryCreate("http://" + rest, UriKind.Absolute, out var named)) return null;
            if (named.IsDefaultPort && !rest.EndsWith(":80", StringComparison.Ordinal)) return null;
            return Valid(named) ? new PeerAddress(Uri.UriSchemeHttp, named.Host, named.Port, Resolve: true) : null;
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)) return null;
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) return null;
        return Valid(uri) ? new PeerAddress(uri.Scheme, uri.Host, uri.Port, resolveDns) : null;
    }

    // A gRPC endpoint: a host, a port, and nothing after it (a channel ignores paths, so one is a mistake).
    private static bool Valid(Uri uri) =>
        uri.Host.Length > 0 && uri.Port is > 0 and <= 65535 && uri.AbsolutePath == "/" && uri.Query.Length == 0
        && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0;
}
