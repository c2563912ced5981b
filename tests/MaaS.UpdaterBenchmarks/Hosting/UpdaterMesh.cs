using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace MaaS.UpdaterBenchmarks.Hosting;

/// <summary>
/// The whole mesh as it is deployed: a private RabbitMQ (infra/rabbitmq.sh on its own ports and folder), the
/// registry, a trainer, the updater, one inference replica and the gateway, each its own `dotnet` process on
/// loopback ports, with the update loop's clocks at demo settings (inputs sampled every second, traffic
/// windows of 250 ms, rollout ticks of 100 ms). Disposing stops every process by PID and then the broker.
/// </summary>
public sealed class UpdaterMesh : IAsyncDisposable
{
    // Health on the gRPC port (HTTP/2 only); the content root is the checkout; killed at once with its children.
    private static readonly ServiceProcessOptions Service = new()
    {
        HealthPath = "/healthz",
        HealthOverHttp2 = true,
        StartTimeout = TimeSpan.FromSeconds(180),
        StopGrace = TimeSpan.Zero,
        Production = false,
    };

    private static readonly TimeSpan BrokerTimeout = TimeSpan.FromMinutes(3);

    private static readonly string[] Projects =
    [
        "services/MaaS.Registry/MaaS.Registry.csproj", "services/MaaS.Trainer/MaaS.Trainer.csproj", "services/MaaS.Updater/MaaS.Updater.csproj",
        "services/MaaS.Inference/MaaS.Inference.csproj", "gateway/MaaS.Gateway/MaaS.Gateway.csproj",
    ];

    private readonly BenchOptions _options;
    private readonly string _work;
    private readonly TextWriter _progress;
    private readonly List<ServiceProcess> _processes = [];
    private InfraScript? _broker;
    private GrpcChannel? _channel;
    private int _nextPort;

    private UpdaterMesh(BenchOptions options, string work, TextWriter progress)
    {
        _options = options;
        _work = work;
        _progress = progress;
        _nextPort = options.PortBase;
    }

    /// <summary>Calls through the gateway with its admin key.</summary>
    public CallInvoker Gateway { get; private set; } = null!;

    /// <summary>The process of each service by name.</summary>
    public Dictionary<string, ServiceProcess> Processes { get; } = [];

    /// <summary>Builds the services in the chosen configuration (the tool itself is built by `dotnet run`).</summary>
    public static async Task BuildAsync(BenchOptions options, TextWriter progress)
    {
        foreach (var project in Projects)
        {
            progress.WriteLine($"dotnet build -c {options.Configuration} {project}");
            var (exit, stdout, stderr, _) = await ProcessRun.RunAsync("dotnet", options.RepoRoot, TimeSpan.FromMinutes(10),
                ["build", "-c", options.Configuration, "--nologo", "-v", "q", project]);
            if (exit != 0) throw new HarnessException($"`dotnet build -c {options.Configuration} {project}` failed:\n{stdout}{stderr}");
        }
    }

    /// <summary>Starts the broker and every service, and waits until each is healthy.</summary>
    public static async Task<UpdaterMesh> StartAsync(BenchOptions options, string work, TextWriter progress)
    {
        var mesh = new UpdaterMesh(options, work, progress);
        try
        {
            await mesh.StartAllAsync();
        }
        catch
        {
            await mesh.DisposeAsync();
            throw;
        }
        return mesh;
    }

    /// <summary>Stops the broker (its script stops the node by its PID file); the services stay up and reconnect later.</summary>
    public Task StopBrokerAsync() => _broker!.StopAsync(BrokerTimeout);

    /// <summary>Starts the broker again on the same ports and folder, and waits until it takes connections.</summary>
    public Task StartBrokerAsync() => _broker!.StartAsync(BrokerTimeout);

    /// <summary>The last lines of a service's log, for failure messages.</summary>
    public string Tail(string service, int lines = 15) => Processes.TryGetValue(service, out var p) ? p.Tail(lines) : "(not started)";

    private async Task StartAllAsync()
    {
        var amqp = Port();
        _broker = InfraScript.RabbitMq(_options.RepoRoot, amqp, Port(), Port(), Path.Combine(_work, "rabbitmq"), _progress);
        _progress.WriteLine($"starting RabbitMQ on 127.0.0.1:{amqp}");
        await _broker.StartAsync(BrokerTimeout);

        int registry = Port(), trainer = Port(), updater = Port(), iGrpc = Port(), iRest = Port(), gGrpc = Port(), gRest = Port();
        var adminKeyFile = Path.Combine(_work, "admin.key");
        string[] common =
        [
            $"--Bus:Port={amqp}",
            $"--Services:Registry=http://127.0.0.1:{registry}",
            $"--Services:Trainer=http://127.0.0.1:{trainer}",
            $"--Services:Updater=http://127.0.0.1:{updater}",
        ];
        Start("registry", "services/MaaS.Registry", registry, 0, common);
        Start("trainer", "services/MaaS.Trainer", trainer, 0, common);
        Start("updater", "services/MaaS.Updater", updater, 0,
            [.. common, "--Updater:TriggerTickMilliseconds=250", "--Updater:DriftCheckSeconds=1", "--Updater:Rollouts:TickMilliseconds=100"]);
        Start("inference", "services/MaaS.Inference", iGrpc, iRest, [.. common, "--Inference:ReplicaId=inference-a", "--Inference:Sampling:IntervalSeconds=1"]);
        Start("gateway", "gateway/MaaS.Gateway", gGrpc, gRest,
        [
            .. common,
            $"--Gateway:Auth:AdminKeyFile={adminKeyFile}",
            "--Gateway:PollIntervalMs=200",
            "--Gateway:Traffic:IntervalMilliseconds=250",
            "--Gateway:Replicas:0:Name=inference-a", "--Gateway:Replicas:0:Pool=default",
            $"--Gateway:Replicas:0:GrpcAddress=http://127.0.0.1:{iGrpc}", $"--Gateway:Replicas:0:RestAddress=http://127.0.0.1:{iRest}",
        ]);
        // All started first, then each waited for: they come up side by side.
        foreach (var process in _processes)
        {
            await process.WaitHealthyAsync();
            _progress.WriteLine($"{process.Name} ready");
        }

        var key = File.ReadLines(adminKeyFile).First().Trim();
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{gGrpc}", new GrpcChannelOptions { MaxReceiveMessageSize = 64 * 1024 * 1024 });
        Gateway = _channel.CreateCallInvoker().Intercept(metadata =>
        {
            var headers = new Metadata();
            foreach (var entry in metadata) headers.Add(entry);
            headers.Add("authorization", $"Bearer {key}");
            return headers;
        });
    }

    private void Start(string name, string projectDirectory, int grpcPort, int httpPort, string[] args)
    {
        var logs = Directory.CreateDirectory(Path.Combine(_work, "logs")).FullName;
        string[] all =
        [
            $"--Mesh:GrpcPort={grpcPort}",
            $"--Mesh:HttpPort={httpPort}",
            $"--Mesh:DataDirectory={Path.Combine(_work, "data", name)}",
            .. args,
        ];
        var assembly = Path.GetFileName(projectDirectory);
        var dll = RepoPaths.BuiltDll(_options.RepoRoot, projectDirectory, assembly, _options.Configuration)
            ?? throw new HarnessException($"{assembly}.dll is not built under {RepoPaths.BinDirectory(_options.RepoRoot, projectDirectory, _options.Configuration)}; drop --no-build.");
        var process = ServiceProcess.Start(name, dll, all, grpcPort, logs, Service with { WorkingDirectory = _options.RepoRoot });
        _processes.Add(process);
        Processes[name] = process;
    }

    private int Port() => _options.PortBase == 0 ? FreePorts.One() : _nextPort++;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        for (var i = _processes.Count - 1; i >= 0; i--) await _processes[i].DisposeAsync();
        _processes.Clear();
        if (_broker is not null) await _broker.StopQuietlyAsync(BrokerTimeout);
    }
}
