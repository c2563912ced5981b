using System.Text.Json.Nodes;
using MaaS.Testing;

namespace MaaS.EndToEnd.Tests;

/// <summary>
/// The real mesh for one test run: a private RabbitMQ (infra/rabbitmq.sh) and every service as its
/// own `dotnet` process, all on free loopback ports, with logs under a temp folder. Disposing ends
/// every process it started (by PID, with its children) and the broker.
/// </summary>
public class MeshProcesses : IAsyncLifetime
{
    // Health on the gRPC port (HTTP/2 only); the content root is the checkout, not the dll's folder; killed at once with its children.
    private static readonly ServiceProcessOptions Service = new()
    {
        HealthPath = "/healthz",
        HealthOverHttp2 = true,
        StartTimeout = TimeSpan.FromSeconds(120),
        StopGrace = TimeSpan.Zero,
        Production = false,
    };

    private readonly List<ServiceProcess> processes = [];
    private InfraScript? broker;

    /// <summary>Checkout root (the folder with MaaS.Mesh.sln).</summary>
    public string Root { get; } = RepoPaths.AboveBinaries();

    /// <summary>Temp folder holding state and logs of this run.</summary>
    public string WorkDirectory { get; } = Path.Combine(Path.GetTempPath(), "maas-e2e-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Gateway gRPC address.</summary>
    public Uri GatewayGrpc { get; private set; } = null!;

    /// <summary>The gateway's Prometheus endpoint (set by the whole-mesh fixture).</summary>
    public Uri? GatewayMetrics { get; private set; }

    /// <summary>Gateway REST address.</summary>
    public Uri GatewayRest { get; private set; } = null!;

    /// <summary>Where the gateway writes the admin key it creates on first start (not the checkout's .maas/).</summary>
    public string AdminKeyFile => Path.Combine(WorkDirectory, "admin.key");

    /// <summary>The admin key the gateway created, sent as `authorization: Bearer` on every call through it.</summary>
    public string AdminKey => File.ReadLines(AdminKeyFile).First().Trim();

    /// <summary>A channel to the gateway; dispose it after use.</summary>
    public Grpc.Net.Client.GrpcChannel OpenGatewayChannel() => Grpc.Net.Client.GrpcChannel.ForAddress(GatewayGrpc);

    /// <summary>Calls over <paramref name="channel"/> that carry the admin key.</summary>
    public Grpc.Core.CallInvoker WithAdminKey(Grpc.Net.Client.GrpcChannel channel)
    {
        var key = AdminKey;
        // A copy: the caller's own Metadata may be reused for several calls and must not collect keys.
        return Grpc.Core.Interceptors.CallInvokerExtensions.Intercept(channel.CreateCallInvoker(), metadata =>
        {
            var headers = new Grpc.Core.Metadata();
            foreach (var entry in metadata)
            {
                headers.Add(entry);
            }
            headers.Add("authorization", $"Bearer {key}");
            return headers;
        });
    }

    /// <summary>An HTTP client for the gateway's REST port that sends the admin key.</summary>
    public HttpClient GatewayHttp()
    {
        var http = new HttpClient { BaseAddress = GatewayRest };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        return http;
    }

    /// <summary>Replica inference-a's gRPC address.</summary>
    public Uri ReplicaGrpc { get; private set; } = null!;

    /// <summary>Replica inference-a's REST address.</summary>
    public Uri ReplicaRest { get; private set; } = null!;

    /// <summary>Build configuration of this test assembly; the services are taken from the same one.</summary>
    public static string Configuration => RepoPaths.CurrentConfiguration;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(WorkDirectory);
        var amqp = FreePort();
        broker = InfraScript.RabbitMq(Root, amqp, FreePort(), FreePort(), Path.Combine(WorkDirectory, "rabbitmq"));
        await broker.StartAsync();

        // All started first, then each waited for: they come up side by side.
        await StartServicesAsync(amqp);
        foreach (var process in processes)
        {
            await process.WaitHealthyAsync();
        }
    }

    /// <summary>
    /// Starts the service processes once the broker on <paramref name="amqp"/> is up (the whole mesh here; a
    /// fixture that needs only some services overrides it); each is then waited for until healthy.
    /// </summary>
    protected virtual Task StartServicesAsync(int amqp)
    {
        int registry = FreePort(), trainer = FreePort(), updater = FreePort();
        int aGrpc = FreePort(), aRest = FreePort(), bGrpc = FreePort(), bRest = FreePort(), gGrpc = FreePort(), gRest = FreePort(), gMetrics = FreePort();
        string[] common =
        [
            $"--Bus:Port={amqp}",
            $"--Services:Registry=http://127.0.0.1:{registry}",
            $"--Services:Trainer=http://127.0.0.1:{trainer}",
            $"--Services:Updater=http://127.0.0.1:{updater}",
        ];
        Start("registry", "services/MaaS.Registry", registry, 0, common);
        Start("trainer", "services/MaaS.Trainer", trainer, 0, common);
        Start("updater", "services/MaaS.Updater", updater, 0, common);
        Start("inference-a", "services/MaaS.Inference", aGrpc, aRest, [.. common, "--Inference:ReplicaId=inference-a"]);
        Start("inference-b", "services/MaaS.Inference", bGrpc, bRest, [.. common, "--Inference:ReplicaId=inference-b"]);
        Start("gateway", "gateway/MaaS.Gateway", gGrpc, gRest,
        [
            .. common,
            $"--Gateway:Auth:AdminKeyFile={AdminKeyFile}",
            $"--Mesh:MetricsPort={gMetrics}",
            // Deployment changes must reach the routing table well within the tests' patience.
            "--Gateway:PollIntervalMs=250",
            "--Gateway:Replicas:0:Name=inference-a", "--Gateway:Replicas:0:Pool=default",
            $"--Gateway:Replicas:0:GrpcAddress=http://127.0.0.1:{aGrpc}", $"--Gateway:Replicas:0:RestAddress=http://127.0.0.1:{aRest}",
            "--Gateway:Replicas:1:Name=inference-b", "--Gateway:Replicas:1:Pool=default",
            $"--Gateway:Replicas:1:GrpcAddress=http://127.0.0.1:{bGrpc}", $"--Gateway:Replicas:1:RestAddress=http://127.0.0.1:{bRest}",
        ]);
        GatewayGrpc = new Uri($"http://127.0.0.1:{gGrpc}");
        GatewayMetrics = new Uri($"http://127.0.0.1:{gMetrics}/metrics");
        ReplicaGrpc = new Uri($"http://127.0.0.1:{aGrpc}");
        ReplicaRest = new Uri($"http://127.0.0.1:{aRest}");
        GatewayRest = new Uri($"http://127.0.0.1:{gRest}");
        return Task.CompletedTask;
    }

    /// <summary>Runs a program of the repo (e.g. the CLI) to its end; returns exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> RunToolAsync(string projectDirectory, string assembly, TimeSpan timeout, params string[] args)
    {
        var (exit, stdout, stderr, _) = await ProcessRun.RunAsync("dotnet", Root, timeout, [FindDll(projectDirectory, assembly), .. args], KeyEnvironment());
        return (exit, stdout + stderr);
    }

    /// <summary>Runs tests/clients/python/oip_client.py against the gateway; one JSON object per transport.</summary>
    public async Task<List<JsonNode>> RunPythonClientAsync(string version, double[] xs)
    {
        string[] args = ["--grpc", $"{GatewayGrpc.Host}:{GatewayGrpc.Port}", "--rest", GatewayRest.ToString(), "--version", version,
            .. xs.Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        var (exit, stdout, stderr) = await RunPythonAsync("oip_client.py", args);
        if (exit != 0) throw new InvalidOperationException($"python client exited {exit}: {stderr}");
        return ParseLines(stdout);
    }

    /// <summary>Runs tests/clients/python/oip_protocol_check.py; its exit code and one JSON object per check.</summary>
    public async Task<(int ExitCode, List<JsonNode> Checks, string Errors)> RunProtocolCheckAsync(Uri grpc, Uri rest, bool direct)
    {
        string[] args = ["--grpc", $"{grpc.Host}:{grpc.Port}", "--rest", rest.ToString(), "--model", "linear-regression", .. direct ? new[] { "--direct" } : []];
        var (exit, stdout, stderr) = await RunPythonAsync("oip_protocol_check.py", args);
        return (exit, ParseLines(stdout), stderr);
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunPythonAsync(string script, string[] args)
    {
        var (exit, stdout, stderr, _) = await ProcessRun.RunAsync("/usr/bin/python3", Root, TimeSpan.FromSeconds(120),
            [Path.Combine(Root, "tests", "clients", "python", script), .. args], KeyEnvironment());
        return (exit, stdout, stderr);
    }

    /// <summary>MAAS_API_KEY for the tools the tests run (CLI, Python clients), once the gateway has made the key.</summary>
    private Dictionary<string, string> KeyEnvironment() =>
        File.Exists(AdminKeyFile) ? new() { ["MAAS_API_KEY"] = AdminKey } : [];

    private static List<JsonNode> ParseLines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();

    /// <summary>The log of one service, for failure messages.</summary>
    public string Log(string name)
    {
        var path = Path.Combine(WorkDirectory, "logs", name + ".log");
        return File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(40)) : "(no log)";
    }

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        foreach (var process in processes) await process.DisposeAsync();
        if (broker is not null) await broker.StopQuietlyAsync();
        try { Directory.Delete(WorkDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Starts one service (its Release or Debug build, as this assembly) with its log under <see cref="WorkDirectory"/>;
    /// <see cref="InitializeAsync"/> waits for it. Returned so that a fixture can wait for one service before starting the next.
    /// </summary>
    protected ServiceProcess Start(string name, string projectDirectory, int grpcPort, int httpPort, string[] args)
    {
        var logs = Directory.CreateDirectory(Path.Combine(WorkDirectory, "logs")).FullName;
        string[] all =
        [
            $"--Mesh:GrpcPort={grpcPort}",
            $"--Mesh:HttpPort={httpPort}",
            $"--Mesh:DataDirectory={Path.Combine(WorkDirectory, "data", name)}",
            .. args,
            .. ExtraArgs(name),
        ];
        var dll = FindDll(projectDirectory, Path.GetFileName(projectDirectory));
        var process = ServiceProcess.Start(name, dll, all, grpcPort, logs, Service with { WorkingDirectory = Root });
        processes.Add(process);
        return process;
    }

    /// <summary>
    /// Settings a fixture adds to one service (by its name: registry, trainer, updater, inference-a,
    /// inference-b, gateway), after the defaults, so they win; e.g. short intervals for a scenario.
    /// </summary>
    protected virtual IEnumerable<string> ExtraArgs(string service) => [];

    private string FindDll(string projectDirectory, string assembly) =>
        RepoPaths.BuiltDll(Root, projectDirectory, assembly, Configuration)
        ?? throw new FileNotFoundException($"{assembly}.dll is not built under {RepoPaths.BinDirectory(Root, projectDirectory, Configuration)}; build the solution in {Configuration} first.");

    /// <summary>A free TCP port on 127.0.0.1.</summary>
    protected static int FreePort() => FreePorts.One();
}
