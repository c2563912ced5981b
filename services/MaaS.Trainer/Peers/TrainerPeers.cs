using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using MaaS.ServiceDefaults;
using MaaS.Trainer.V1;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Peers;

/// <summary>What one peer said: its answer, or the refusal of the replica that has the job.</summary>
/// <param name="Address">The peer asked.</param>
/// <param name="Value">Its answer; null with <paramref name="Refusal"/>.</param>
/// <param name="Refusal">Its error other than NotFound (e.g. FailedPrecondition), relayed as it is.</param>
public sealed record PeerReply<T>(Uri Address, T? Value, RpcException? Refusal) where T : class;

/// <summary>The outcome of asking every peer for one job.</summary>
/// <param name="Found">The first peer that knows the job, or null.</param>
/// <param name="Asked">Peers asked.</param>
/// <param name="Unreachable">Peers that did not answer in time (or at all).</param>
public sealed record PeerSearch<T>(PeerReply<T>? Found, int Asked, int Unreachable) where T : class;

/// <summary>
/// The other trainer replicas (Trainer:Peers). Each replica keeps the jobs it took in its own trainer.db, so a question
/// about a job this one does not have goes to the peers, all at once with a short deadline; a peer that does not
/// answer is skipped. Forwarded calls carry <see cref="ForwardedHeader"/> and are answered from the local store
/// only, so replicas that list each other never loop. One channel per peer address lives as long as the process.
/// </summary>
public sealed partial class TrainerPeers : IDisposable
{
    /// <summary>Metadata header of a call one replica forwards to another.</summary>
    public const string ForwardedHeader = "x-maas-trainer-forwarded";

    private static readonly TimeSpan ResolveFor = TimeSpan.FromSeconds(5);
    private readonly IReadOnlyList<PeerAddress> entries;
    private readonly IPeerChannelFactory channelFactory;
    private readonly TimeProvider time;
    private readonly ILogger<TrainerPeers> logger;
    private readonly TimeSpan timeout;
    private readonly int ownPort;
    private readonly ConcurrentDictionary<Uri, GrpcChannel> channels = new();
    private readonly ConcurrentDictionary<PeerAddress, (DateTimeOffset Until, IReadOnlyList<Uri> Addresses)> resolved = new();
    private readonly Lazy<HashSet<IPAddress>> ownAddresses = new(OwnAddresses);

    /// <summary>Reads Trainer:Peers (already validated at start).</summary>
    public TrainerPeers(IOptions<TrainerOptions> options, IOptions<MeshHostOptions> mesh, IPeerChannelFactory channelFactory,
        TimeProvider time, ILogger<TrainerPeers> logger)
    {
        entries = options.Value.Peers.Select(p => PeerAddress.TryParse(p, options.Value.PeersResolveDns)).OfType<PeerAddress>().ToList();
        timeout = TimeSpan.FromMilliseconds(options.Value.PeerTimeoutMilliseconds);
        ownPort = mesh.Value.GrpcPort;
        this.channelFactory = channelFactory;
        this.time = time;
        this.logger = logger;
    }

    /// <summary>True when Trainer:Peers names at least one peer.</summary>
    public bool Configured => entries.Count > 0;

    /// <summary>True when another replica forwarded this call: it is answered from the local store only.</summary>
    public static bool IsForwarded(ServerCallContext context) => context.RequestHeaders.GetValue(ForwardedHeader) == "1";

    /// <summary>Every peer address now: fixed ones as given, names resolved (cached ~5 s), without this replica's own.</summary>
    public async Task<IReadOnlyList<Uri>> AddressesAsync(CancellationToken cancellationToken)
    {
        var all = new List<Uri>();
        foreach (var entry in entries)
        {
            if (entry.Resolve) all.AddRange(await ResolveAsync(entry, cancellationToken));
            else all.Add(entry.Fixed);
        }
        return all.Distinct().Where(a => !IsSelf(a)).ToList();
    }

    /// <summary>A client of the peer at <paramref name="address"/> over its one channel.</summary>
    public TrainerService.TrainerServiceClient Client(Uri address) => new(channels.GetOrAdd(address, channelFactory.Create));

    /// <summary>Options of a forwarded call: the forwarded header, the caller's cancellation and, unless a stream, the peer deadline.</summary>
    public CallOptions Forwarded(CancellationToken cancellationToken, bool deadline = true) => new(
        headers: new Metadata { { ForwardedHeader, "1" } },
        deadline: deadline ? DateTime.UtcNow + timeout : null,
        cancellationToken: cancellationToken);

    /// <summary>
    /// Asks every peer at once; the first that answers other than NotFound wins (its value or its refusal) and the
    /// other calls are cancelled.
    /// </summary>
    public async Task<PeerSearch<T>> FindAsync<T>(string method, Func<TrainerService.TrainerServiceClient, CallOptions, Task<T>> call,
        CancellationToken cancellationToken) where T : class
    {
        var addresses = await AddressesAsync(cancellationToken);
        using var rest = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var asks = addresses.Select(a => AskAsync(a, method, call, rest.Token)).ToList();
        var unreachable = 0;
        await foreach (var ask in Task.WhenEach(asks))
        {
            var (reply, reached) = await ask;
            if (reply is not null)
            {
                await rest.CancelAsync();
                return new PeerSearch<T>(reply, addresses.Count, unreachable);
            }
            if (!reached) unreachable++;
        }
        cancellationToken.ThrowIfCancellationRequested();
        return new PeerSearch<T>(null, addresses.Count, unreachable);
    }

    /// <summary>
    /// The job as the peer that holds it records it, or null when no peer answering in time has it (or none is
    /// configured); a peer that does not answer cannot be asked, so null does not prove that none has it.
    /// </summary>
    public async Task<Job?> HolderOfAsync(string jobId, CancellationToken cancellationToken)
    {
        if (!Configured) return null;
        var search = await FindAsync("GetJob", (c, o) => c.GetJobAsync(new GetJobRequest { JobId = jobId }, o).ResponseAsync, cancellationToken);
        return search.Found?.Value?.Job;
    }

    /// <summary>Asks every peer at once and returns the answers of those that answered; the others are skipped.</summary>
    public async Task<IReadOnlyList<T>> AllAsync<T>(string method, Func<TrainerService.TrainerServiceClient, CallOptions, Task<T>> call,
        CancellationToken cancellationToken) where T : class
    {
        var addresses = await AddressesAsync(cancellationToken);
        var replies = await Task.WhenAll(addresses.Select(a => AskAsync(a, method, call, cancellationToken)));
        cancellationToken.ThrowIfCancellationRequested();
        var answers = new List<T>();
        foreach (var (reply, _) in replies)
        {
            if (reply?.Value is { } value) answers.Add(value);
            else if (reply?.Refusal is { } refusal) LogSkipped(logger, reply.Address, method, refusal.StatusCode, refusal.Status.Detail);
        }
        return answers;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var channel in channels.Values) channel.Dispose();
        channels.Clear();
    }

    // (reply, reached): reply null = NotFound there (reached) or no answer (not reached). Never throws.
    private async Task<(PeerReply<T>? Reply, bool Reached)> AskAsync<T>(Uri address, string method,
        Func<TrainerService.TrainerServiceClient, CallOptions, Task<T>> call, CancellationToken cancellationToken) where T : class
    {
        try
        {
            return (new PeerReply<T>(address, await call(Client(address), Forwarded(cancellationToken)), null), true);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return (null, true);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled
            or StatusCode.Unknown or StatusCode.Internal or StatusCode.Unimplemented)
        {
            if (!cancellationToken.IsCancellationRequested) LogSkipped(logger, address, method, ex.StatusCode, ex.Status.Detail);
            return (null, false);
        }
        catch (RpcException ex)
        {
            return (new PeerReply<T>(address, null, ex), true);
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
        {
            if (!cancellationToken.IsCancellationRequested) LogSkipped(logger, address, method, StatusCode.Unavailable, ex.Message);
            return (null, false);
        }
    }

    private async Task<IReadOnlyList<Uri>> ResolveAsync(PeerAddress entry, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (resolved.TryGetValue(entry, out var cached) && cached.Until > now) return cached.Addresses;
        IReadOnlyList<Uri> addresses;
        try
        {
            addresses = (await Dns.GetHostAddressesAsync(entry.Host, cancellationToken))
                .Select(ip => new UriBuilder(entry.Scheme, ip.ToString(), entry.Port).Uri).ToList();
        }
        catch (SocketException ex)
        {
            // No replica behind the name (a headless Service lists ready pods only): no peers from it until the next resolve.
            LogUnresolved(logger, entry.Host, ex.SocketErrorCode);
            addresses = [];
        }
        resolved[entry] = (now + ResolveFor, addresses);
        return addresses;
    }

    // A name that lists every replica (the headless Service) lists this one too; its own answer would only repeat the local store.
    private bool IsSelf(Uri address) =>
        address.Port == ownPort && IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip) && ownAddresses.Value.Contains(ip);

    private static HashSet<IPAddress> OwnAddresses()
    {
        var own = new HashSet<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses) own.Add(unicast.Address);
            }
        }
        catch (NetworkInformationException)
        {
            // Without the interface list only loopback counts as this host; answering our own forwarded call is harmless.
        }
        return own;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Trainer peer {Address} skipped for {Method}: {Status} {Detail}")]
    private static partial void LogSkipped(ILogger logger, Uri address, string method, StatusCode status, string detail);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Trainer peer name {Host} did not resolve ({Error}); no peers from it until the next resolve")]
    private static partial void LogUnresolved(ILogger logger, string host, SocketError error);
}
