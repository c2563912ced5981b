using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Routing;

/// <summary>
/// Turns the configured replicas into the replicas that exist now: a static entry is itself; an entry
/// with ResolveDns becomes one replica per address its host resolves to (compose scales a service
/// behind one name, a Kubernetes headless service lists its pods). When a name does not resolve, the
/// addresses it gave last stay, so a DNS hiccup does not empty a pool.
/// </summary>
public sealed partial class ReplicaDirectory(IOptions<GatewayOptions> options, ILogger<ReplicaDirectory> logger)
{
    private readonly Dictionary<string, IReadOnlyList<ReplicaOptions>> _lastResolved = new(StringComparer.Ordinal);

    /// <summary>Delegate so that tests can answer for DNS.</summary>
    public Func<string, CancellationToken, Task<IPAddress[]>> Resolve { get; set; } = Dns.GetHostAddressesAsync;

    /// <summary>The replicas to route to, in configuration order (resolved addresses sorted).</summary>
    public async Task<IReadOnlyList<ReplicaOptions>> CurrentAsync(CancellationToken ct)
    {
        var members = new List<ReplicaOptions>();
        foreach (var replica in options.Value.Replicas)
        {
            if (!replica.ResolveDns)
            {
                members.Add(replica);
                continue;
            }
            members.AddRange(await ExpandAsync(replica, ct));
        }
        return members;
    }

    private async Task<IReadOnlyList<ReplicaOptions>> ExpandAsync(ReplicaOptions replica, CancellationToken ct)
    {
        var grpc = new Uri(replica.GrpcAddress);
        var rest = new Uri(replica.RestAddress);
        try
        {
            var addresses = await Resolve(grpc.Host, ct);
            var expanded = addresses
                .Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                .Select(a => a.ToString()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(a => new ReplicaOptions
                {
                    Name = $"{replica.Name}@{a}",
                    Pool = replica.Pool,
                    GrpcAddress = WithHost(grpc, a),
                    RestAddress = WithHost(rest, a),
                })
                .ToList();
            if (!_lastResolved.TryGetValue(replica.Name, out var before) || !before.Select(r => r.Name).SequenceEqual(expanded.Select(r => r.Name)))
            {
                LogResolved(logger, replica.Name, grpc.Host, string.Join(", ", expanded.Select(r => r.Name)));
            }
            _lastResolved[replica.Name] = expanded;
            return expanded;
        }
        catch (SocketException ex)
        {
            LogNotResolved(logger, replica.Name, grpc.Host, ex.Message);
            return _lastResolved.TryGetValue(replica.Name, out var kept) ? kept : [];
        }
    }

    private static string WithHost(Uri address, string ip)
    {
        var host = ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]" : ip;
        return $"{address.Scheme}://{host}:{address.Port}";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica entry {Entry}: {Host} resolves to [{Members}]")]
    private static partial void LogResolved(ILogger logger, string entry, string host, string members);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica entry {Entry}: {Host} does not resolve ({Reason}); keeping the addresses it gave last")]
    private static partial void LogNotResolved(ILogger logger, string entry, string host, string reason);
}
