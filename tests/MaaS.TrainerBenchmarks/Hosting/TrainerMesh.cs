using Grpc.Net.Client;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;

namespace MaaS.TrainerBenchmarks.Hosting;

/// <summary>One trainer replica: its process and a client.</summary>
public sealed record TrainerReplica(string ReplicaId, ServiceProcess Process, GrpcChannel Channel)
{
    /// <summary>The replica's TrainerService.</summary>
    public TrainerService.TrainerServiceClient Client { get; } = new(Channel);
}

/// <summary>
/// The pieces the trainer needs, run as they are deployed: a private RabbitMQ (infra/rabbitmq.sh on its own
/// ports and folder), the registry and any number of trainer replicas, each its own `dotnet` process from
/// the Release build on loopback ports. Disposing stops every process by PID and then the broker.
/// </summary>
public sealed class TrainerMesh : IAsyncDisposable
{
    private readonly BenchOptions _options;
    private readonly string _work;
    private readonly TextWriter _progress;
    private InfraScript? _broker;
    private readonly List<ServiceProcess> _processes = [];
    private readonly List<GrpcChannel> _channels = [];
    private int _nextPort;

    // Health on the HTTP port's /healthz (ready, not only live); a trainer loads libtorch first, hence the long start limit.
    private static readonly ServiceProcessOptions Service = new()
    {
        HealthPath = "/healthz",
        StartTimeout = TimeSpan.FromSeconds(120),
        AppendLog = true,
    };

    private static readonly TimeSpan BrokerTimeout = TimeSpan.FromMinutes(3);

    private TrainerMesh(BenchOptions options, string work, TextWriter progress)
    {
        _options = options;
        _work = work;
        _progress = progress;
        _nextPort = options.PortBase;
    }

    /// <summary>The broker's AMQP port.</summary>
    public int AmqpPort { get; private set; }

    /// <summary>The registry's gRPC address.</summary>
    public Uri RegistryAddress { get; private set; } = null!;

    /// <summary>A registry client.</summary>
    public RegistryService.RegistryServiceClient Registry { get; private set; } = null!;

    /// <summary>The registry's process.</summary>
    public ServiceProcess RegistryProcess { get; private set; } = null!;

    /// <summary>The broker's process id (from RabbitMQ's pid file), or null when it cannot be read.</summary>
    public int? BrokerPid => CpuClock.PidFromFile(Path.Combine(_work, "rabbitmq", "rabbitmq.pid"));

    /// <summary>Process ids by role (trainers, registry, broker, client = this tool), for CPU accounting.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> ProcessGroups() => new Dictionary<string, IReadOnlyList<int>>
    {
        ["trainers"] = Trainers.Select(t => t.Process.Pid).ToList(),
        ["registry"] = [RegistryProcess.Pid],
        ["broker"] = BrokerPid is { } broker ? [broker] : [],
        ["client"] = [CpuClock.Self],
    };

    /// <summary>Replicas started so far.</summary>
    public List<TrainerReplica> Trainers { get; } = [];

    /// <summary>Starts the broker and the registry.</summary>
    public static async Task<TrainerMesh> StartAsync(BenchOptions options, string work, TextWriter progress)
    {
        var mesh = new TrainerMesh(options, work, progress);
        try
        {
            await mesh.StartBrokerAndRegistryAsync();
        }
        catch
        {
            await mesh.DisposeAsync();
            throw;
        }
        return mesh;
    }

    /// <summary>Builds the registry and the trainer in Release (the tool itself is built by `dotnet run`).</summary>
    public static async Task BuildAsync(string root, TextWriter progress)
    {
        foreach (var project in new[] { "services/MaaS.Registry/MaaS.Registry.csproj", "services/MaaS.Trainer/MaaS.Trainer.csproj" })
        {
            await ProcessRun.BuildReleaseAsync(project, root, progress);
        }
    }

    /// <summary>
    /// Starts a trainer replica with <c>Trainer:ReplicaId</c> = <paramref name="replicaId"/> and one job at a time;
    /// <paramref name="torchThreads"/> sets <c>Trainer:TorchThreads</c> (0 = the trainer's default, one per core per job slot).
    /// </summary>
    public async Task<TrainerReplica> StartTrainerAsync(string replicaId, int torchThreads = 0)
    {
        int grpc = Port(), http = Port();
        var process = await ServiceProcess.StartAsync("trainer-" + replicaId, Dll("services/MaaS.Trainer", "MaaS.Trainer"),
        [
            .. Common(grpc, http, "trainer-" + replicaId),
            $"--Services:Registry={RegistryAddress}",
            $"--Trainer:ReplicaId={replicaId}",
            "--Trainer:MaxConcurrentJobs=1",
            $"--Trainer:TorchThreads={torchThreads}",
        ], http, LogDirectory, Service);
        _processes.Add(process);
        var channel = Channel(grpc);
        var replica = new TrainerReplica(replicaId, process, channel);
        Trainers.Add(replica);
        _progress.WriteLine($"trainer {replicaId} ready on 127.0.0.1:{grpc}");
        return replica;
    }

    private string LogDirectory => Directory.CreateDirectory(Path.Combine(_work, "logs")).FullName;

    private async Task StartBrokerAndRegistryAsync()
    {
        AmqpPort = Port();
        _broker = InfraScript.RabbitMq(_options.RepoRoot, AmqpPort, Port(), Port(), Path.Combine(_work, "rabbitmq"), _progress);
        _progress.WriteLine($"starting RabbitMQ on 127.0.0.1:{AmqpPort}");
        await _broker.StartAsync(BrokerTimeout);

        int grpc = Port(), http = Port();
        RegistryProcess = await ServiceProcess.StartAsync("registry", Dll("services/MaaS.Registry", "MaaS.Registry"),
            Common(grpc, http, "registry"), http, LogDirectory, Service);
        _processes.Add(RegistryProcess);
        RegistryAddress = new Uri($"http://127.0.0.1:{grpc}");
        Registry = new RegistryService.RegistryServiceClient(Channel(grpc));
        _progress.WriteLine($"registry ready on {RegistryAddress}");
    }

    private string[] Common(int grpc, int http, string name) =>
    [
        $"--Mesh:GrpcPort={grpc}",
        $"--Mesh:HttpPort={http}",
        $"--Mesh:DataDirectory={Path.Combine(_work, "data", name)}",
        $"--Bus:Port={AmqpPort}",
    ];

    private GrpcChannel Channel(int port)
    {
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { MaxReceiveMessageSize = 64 * 1024 * 1024 });
        _channels.Add(channel);
        return channel;
    }

    private int Port() => _options.PortBase == 0 ? FreePorts.One() : _nextPort++;

    private string Dll(string projectDirectory, string assembly) =>
        RepoPaths.BuiltDll(_options.RepoRoot, projectDirectory, assembly, "Release")
        ?? throw new HarnessException($"{assembly}.dll is not built under {RepoPaths.BinDirectory(_options.RepoRoot, projectDirectory, "Release")}; drop --no-build or run `dotnet build -c Release`.");

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels) channel.Dispose();
        // Trainers first: they talk to the registry while they stop.
        for (var i = _processes.Count - 1; i >= 0; i--) await _processes[i].DisposeAsync();
        _processes.Clear();
        if (_broker is not null) await _broker.StopQuietlyAsync(BrokerTimeout);
    }
}
