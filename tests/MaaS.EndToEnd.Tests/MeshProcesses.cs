using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace MaaS.EndToEnd.Tests;

/// <summary>
/// The real mesh for one test run: a private RabbitMQ (infra/rabbitmq.sh) and every service as its
/// own `dotnet` process, all on free loopback ports, with logs under a temp folder. Disposing ends
/// every process it started (by PID, with its children) and the broker.
/// </summary>
public class MeshProcesses : IAsyncLifetime
{
    private readonly List<(string Name, Process Process, int GrpcPort)> processes = [];
    private readonly Dictionary<string, string> brokerEnv = [];

    /// <summary>Checkout root (the folder with MaaS.Mesh.sln).</summary>
    public string Root { get; } = FindRoot();

    /// <summary>Temp folder holding state and logs of this run.</summary>
    public string WorkDirectory { get; } = Path.Combine(Path.GetTempPath(), "maas-e2e-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Gateway gRPC address.</summary>
    public Uri GatewayGrpc { get; private set; } = null!;

    /// <summary>Gateway REST address.</summary>
    public Uri GatewayRest { get; private set; } = null!;

    /// <summary>Replica inference-a's gRPC address.</summary>
    public Uri ReplicaGrpc { get; private set; } = null!;

    /// <summary>Replica inference-a's REST address.</summary>
    public Uri ReplicaRest { get; private set; } = null!;

    /// <summary>Build configuration of this test assembly; the services are taken from the same one.</summary>
    public static string Configuration => AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(WorkDirectory);
        var amqp = FreePort();
        brokerEnv["MAAS_RABBITMQ_PORT"] = amqp.ToString();
        brokerEnv["MAAS_RABBITMQ_DIST_PORT"] = FreePort().ToString();
        brokerEnv["MAAS_RABBITMQ_EPMD_PORT"] = FreePort().ToString();
        brokerEnv["MAAS_RABBITMQ_DIR"] = Path.Combine(WorkDirectory, "rabbitmq");
        await RunScriptAsync("start");

        await StartServicesAsync(amqp);
        foreach (var (name, process, port) in processes)
        {
            await WaitHealthyAsync(name, process, port);
        }
    }

    /// <summary>
    /// Starts the service processes once the broker on <paramref name="amqp"/> is up (the whole mesh here; a
    /// fixture that needs only some services overrides it); each is then waited for until healthy.
    /// </summary>
    protected virtual Task StartServicesAsync(int amqp)
    {
        int registry = FreePort(), trainer = FreePort(), updater = FreePort();
        int aGrpc = FreePort(), aRest = FreePort(), bGrpc = FreePort(), bRest = FreePort(), gGrpc = FreePort(), gRest = FreePort();
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
            "--Gateway:Replicas:0:Name=inference-a", "--Gateway:Replicas:0:Pool=default",
            $"--Gateway:Replicas:0:GrpcAddress=http://127.0.0.1:{aGrpc}", $"--Gateway:Replicas:0:RestAddress=http://127.0.0.1:{aRest}",
            "--Gateway:Replicas:1:Name=inference-b", "--Gateway:Replicas:1:Pool=default",
            $"--Gateway:Replicas:1:GrpcAddress=http://127.0.0.1:{bGrpc}", $"--Gateway:Replicas:1:RestAddress=http://127.0.0.1:{bRest}",
        ]);
        GatewayGrpc = new Uri($"http://127.0.0.1:{gGrpc}");
        ReplicaGrpc = new Uri($"http://127.0.0.1:{aGrpc}");
        ReplicaRest = new Uri($"http://127.0.0.1:{aRest}");
        GatewayRest = new Uri($"http://127.0.0.1:{gRest}");
        return Task.CompletedTask;
    }

    /// <summary>Runs a program of the repo (e.g. the CLI) to its end; returns exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> RunToolAsync(string projectDirectory, string assembly, TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        info.ArgumentList.Add(FindDll(projectDirectory, assembly));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
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
            await process.WaitForExitAsync();
        }
        return (process.ExitCode, await stdout + await stderr);
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
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        info.ArgumentList.Add(Path.Combine(Root, "tests", "clients", "python", script));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (process.ExitCode, await stdout, await stderr);
    }

    private static List<JsonNode> ParseLines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();

    /// <summary>The log of one service, for failure messages.</summary>
    public string Log(string name)
    {
        var path = Path.Combine(WorkDirectory, "logs", name + ".log");
        return File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(40)) : "(no log)";
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        foreach (var (_, process, _) in processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
                }
            }
            catch (InvalidOperationException) { }
            catch (TimeoutException) { }
            process.Dispose();
        }
        await RunScriptAsync("stop");
        try { Directory.Delete(WorkDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Starts one service (its Release or Debug build, as this assembly) with its log under <see cref="WorkDirectory"/>.</summary>
    protected void Start(string name, string projectDirectory, int grpcPort, int httpPort, string[] args)
    {
        var logs = Directory.CreateDirectory(Path.Combine(WorkDirectory, "logs")).FullName;
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(FindDll(projectDirectory, Path.GetFileName(projectDirectory)));
        info.ArgumentList.Add($"--Mesh:GrpcPort={grpcPort}");
        info.ArgumentList.Add($"--Mesh:HttpPort={httpPort}");
        info.ArgumentList.Add($"--Mesh:DataDirectory={Path.Combine(WorkDirectory, "data", name)}");
        foreach (var a in args) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        var log = new StreamWriter(Path.Combine(logs, name + ".log")) { AutoFlush = true };
        var gate = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        processes.Add((name, process, grpcPort));
    }

    private async Task WaitHealthyAsync(string name, Process process, int grpcPort)
    {
        using var http = new HttpClient(new SocketsHttpHandler())
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(5),
        };
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"{name} exited with {process.ExitCode}:\n{Log(name)}");
            try
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{grpcPort}/healthz");
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(300);
        }
        throw new TimeoutException($"{name} not healthy after 120 s:\n{Log(name)}");
    }

    private async Task RunScriptAsync(string verb)
    {
        var info = new ProcessStartInfo(Path.Combine(Root, "infra", "rabbitmq.sh"), verb)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root,
        };
        foreach (var (k, v) in brokerEnv) info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var output = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 && verb == "start")
        {
            throw new InvalidOperationException($"infra/rabbitmq.sh start failed:\n{await output}");
        }
    }

    private string FindDll(string projectDirectory, string assembly)
    {
        var bin = Path.Combine(Root, projectDirectory, "bin", Configuration);
        var dll = Directory.Exists(bin)
            ? Directory.EnumerateFiles(bin, assembly + ".dll", SearchOption.AllDirectories).FirstOrDefault(p => p.Contains("net10.0", StringComparison.Ordinal))
            : null;
        return dll ?? throw new FileNotFoundException($"{assembly}.dll is not built under {bin}; build the solution in {Configuration} first.");
    }

    /// <summary>A free TCP port on 127.0.0.1.</summary>
    protected static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MaaS.Mesh.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("MaaS.Mesh.sln not found above the test assembly.");
    }
}
