// Each fixture starts a broker and several `dotnet` services; two meshes at once would starve each other's
// time-outs on a small machine, so the test classes of this assembly run one after the other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace MaaS.EndToEnd.Tests;

/// <summary>
/// The real broker, the registry and two trainer replicas (Trainer:ReplicaId a and b, one job at a time each,
/// each the other's Trainer:Peers) consuming the one "trainer-train-model" queue; nothing else of the mesh.
/// </summary>
public sealed class TrainerScaleOutMesh : MeshProcesses
{
    /// <summary>The broker's AMQP port.</summary>
    public int AmqpPort { get; private set; }

    /// <summary>The registry's gRPC address.</summary>
    public Uri Registry { get; private set; } = null!;

    /// <summary>Replica id → the trainer's gRPC address.</summary>
    public Dictionary<string, Uri> Trainers { get; } = [];

    /// <inheritdoc />
    protected override Task StartServicesAsync(int amqp)
    {
        AmqpPort = amqp;
        var registry = FreePort();
        Registry = new Uri($"http://127.0.0.1:{registry}");
        string[] common = [$"--Bus:Port={amqp}", $"--Services:Registry={Registry}"];
        Start("registry", "services/MaaS.Registry", registry, 0, common);
        // Each replica lists the other as its peer, so both ports are chosen before either starts.
        var ports = new Dictionary<string, int> { ["a"] = FreePort(), ["b"] = FreePort() };
        foreach (var (replica, port) in ports)
        {
            var peer = ports.Single(p => p.Key != replica).Value;
            Start("trainer-" + replica, "services/MaaS.Trainer", port, 0,
                [.. common, $"--Trainer:ReplicaId={replica}", "--Trainer:MaxConcurrentJobs=1", $"--Trainer:Peers:0=http://127.0.0.1:{peer}"]);
            Trainers[replica] = new Uri($"http://127.0.0.1:{port}");
        }
        return Task.CompletedTask;
    }
}
