using Grpc.Net.Client;
using MaaS.Trainer.Peers;
using MaaS.Trainer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Trainer.Tests.Peers;

/// <summary>
/// In-process trainers that list each other as peers. A test server has no port, so a peer's host name
/// (trainer-b.test) routes to that factory's in-memory handler; any other address gets a real socket channel.
/// </summary>
public sealed class PeerNetwork : IPeerChannelFactory, IAsyncDisposable
{
    private readonly Dictionary<string, TrainerFactory> trainers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Starts nothing yet: a trainer named <paramref name="name"/> reachable as http://{name}.test, with <paramref name="peers"/>.</summary>
    public TrainerFactory Add(string name, IEnumerable<string> peers, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["Trainer:ReplicaId"] = name };
        var i = 0;
        foreach (var peer in peers) all[$"Trainer:Peers:{i++}"] = peer;
        var factory = new TrainerFactory(null, all, services => services.AddSingleton<IPeerChannelFactory>(this));
        trainers[name + ".test"] = factory;
        return factory;
    }

    /// <summary>Address of a trainer of this network.</summary>
    public static string Address(string name) => $"http://{name}.test";

    /// <inheritdoc />
    public GrpcChannel Create(Uri address) => trainers.TryGetValue(address.Host, out var factory)
        ? GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = factory.Server.CreateHandler() })
        : GrpcChannel.ForAddress(address);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var factory in trainers.Values) await factory.DisposeAsync();
    }
}
