using System.Diagnostics;
using System.Globalization;
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
    private readonly Dictionary<string, string> _brokerEnv = [];
    private readonly List<ServiceProcess> _processes = [];
    private readonly List<GrpcChannel> _channels = [];
    private int _nextPort;
    private bool _brokerStarted;

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
            progress.WriteLine($"dotnet build -c Release {project}");
            var (exit, output) = await RunAsync("dotnet", root, new Dictionary<string, string>(), TimeSpan.FromMinutes(10), "build", project, "-c", "Release", "--nologo", "-v", "q");
            if (exit != 0) throw new BenchmarkException($"dotnet build {project} failed:\n{output}");
        }
    }

    /// <summary>Starts a trainer replica with <c>Trainer:ReplicaId</c> = <paramref name="replicaId"/> and one job at a time.</summary>
    public async Task<TrainerReplica> StartTrainerAsync(string replicaId)
    {
        int grpc = Port(), http = Port();
        var process = await ServiceProcess.StartAsync("trainer-" + replicaId, Dll("services/MaaS.Trainer", "MaaS.Trainer"),
        [
            .. Common(grpc, http, "trainer-" + replicaId),
            $"--Services:Registry={RegistryAddress}",
            $"--Trainer:ReplicaId={replicaId}",
            "--Trainer:MaxConcurrentJobs=1",
        ], http, LogDirectory);
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
        _brokerEnv["MAAS_RABBITMQ_PORT"] = AmqpPort.ToString(CultureInfo.InvariantCulture);
        _brokerEnv["MAAS_RABBITMQ_DIST_PORT"] = Port().ToString(CultureInfo.InvariantCulture);
        _brokerEnv["MAAS_RABBITMQ_EPMD_PORT"] = Port().ToString(CultureInfo.InvariantCulture);
        _brokerEnv["MAAS_RABBITMQ_DIR"] = Path.Combine(_work, "rabbitmq");
        _progress.WriteLine($"starting RabbitMQ on 127.0.0.1:{AmqpPort}");
        _brokerStarted = true;
        await BrokerAsync("start");

        int grpc = Port(), http = Port();
        _processes.Add(await ServiceProcess.StartAsync("registry", Dll("services/MaaS.Registry", "MaaS.Registry"),
            Common(grpc, http, "registry"), http, LogDirectory));
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

    private int Port() => _options.PortBase == 0 ? ServiceProcess.FreePort() : _nextPort++;

    private string Dll(string projectDirectory, string assembly)
    {
        var bin = Path.Combine(_options.RepoRoot, projectDirectory, "bin", "Release");
        var dll = Directory.Exists(bin)
            ? Directory.EnumerateFiles(bin, assembly + ".dll", SearchOption.AllDirectories).FirstOrDefault(p => p.Contains("net10.0", StringComparison.Ordinal))
            : null;
        return dll ?? throw new BenchmarkException($"{assembly}.dll is not built under {bin}; drop --no-build or run `dotnet build -c Release`.");
    }

    private async Task BrokerAsync(string verb)
    {
        var (exit, output) = await RunAsync("bash", _options.RepoRoot, _brokerEnv, TimeSpan.FromMinutes(3),
            Path.Combine(_options.RepoRoot, "infra", "rabbitmq.sh"), verb);
        if (exit != 0) throw new BenchmarkException($"infra/rabbitmq.sh {verb} failed (exit {exit}): {output}");
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, string directory, IReadOnlyDictionary<string, string> env,
        TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in env) info.Environment[k] = v;
        using var process = Process.Start(info) ?? throw new BenchmarkException($"{file} could not be started.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new BenchmarkException($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0} s.");
        }
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels) channel.Dispose();
        // Trainers first: they talk to the registry while they stop.
        for (var i = _processes.Count - 1; i >= 0; i--) await _processes[i].DisposeAsync();
        _processes.Clear();
        if (_brokerStarted)
        {
            try
            {
                await BrokerAsync("stop");
            }
            catch (BenchmarkException ex)
            {
                _progress.WriteLine(ex.Message);
            }
            _brokerStarted = false;
        }
    }
}
