using System.Globalization;
using Grpc.Net.Client;

namespace MaaS.Benchmarks.Hosting;

/// <summary>
/// What the gateway targets of issue 6 need (scenarios g, h, i): the real registry (SQLite, in-memory
/// bus) for deployments, two standalone inference replicas, and a gateway that routes to both and
/// polls the registry. Every process runs from its Release build.
/// </summary>
public sealed class GatewayMesh : IAsyncDisposable
{
    private readonly List<ServiceProcess> _started = [];

    private GatewayMesh(string workDirectory) => WorkDirectory = workDirectory;

    /// <summary>Temporary folder with the services' data and logs.</summary>
    public string WorkDirectory { get; }

    /// <summary>The registry process.</summary>
    public ServiceProcess Registry { get; private set; } = null!;

    /// <summary>The two replicas, r1 and r2.</summary>
    public IReadOnlyList<ServiceProcess> Replicas => _replicas;

    private readonly List<ServiceProcess> _replicas = [];

    /// <summary>The gateway.</summary>
    public ServiceProcess Gateway { get; private set; } = null!;

    /// <summary>Gateway gRPC address.</summary>
    public string GatewayGrpc { get; private set; } = "";

    /// <summary>Control channels (not for measured load).</summary>
    public GrpcChannel RegistryChannel { get; private set; } = null!;

    /// <summary>One control channel per replica, in the order of <see cref="Replicas"/>.</summary>
    public IReadOnlyList<GrpcChannel> ReplicaChannels => _replicaChannels;

    private readonly List<GrpcChannel> _replicaChannels = [];

    /// <summary>Control channel to the gateway.</summary>
    public GrpcChannel GatewayChannel { get; private set; } = null!;

    /// <summary>The gateway's Prometheus port (/metrics).</summary>
    public int GatewayMetricsPort { get; private set; }

    /// <summary>Set when everything worked: the work folder is then removed on dispose.</summary>
    public bool Succeeded { get; set; }

    /// <summary>Builds the registry (and, unless --no-build, the replica and gateway again: quick when unchanged) and starts everything.</summary>
    public static async Task<GatewayMesh> StartAsync(BenchmarkOptions options, TextWriter progress)
    {
        var root = options.RepoRoot;
        var registryProject = Path.Combine(root, "services", "MaaS.Registry", "MaaS.Registry.csproj");
        var replicaProject = Path.Combine(root, "services", "MaaS.Inference", "MaaS.Inference.csproj");
        var gatewayProject = Path.Combine(root, "gateway", "MaaS.Gateway", "MaaS.Gateway.csproj");
        if (!options.NoBuild)
        {
            foreach (var project in new[] { registryProject, replicaProject, gatewayProject })
            {
                await ProcessRun.BuildReleaseAsync(project, root, progress);
            }
        }

        var work = Path.Combine(Path.GetTempPath(), "maas-bench-gw-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Environment.ProcessId);
        Directory.CreateDirectory(work);
        var mesh = new GatewayMesh(work);
        try
        {
            // Ten ports: registry gRPC/HTTP, two replicas × gRPC/REST/metrics, gateway gRPC/HTTP/metrics... the last one spare.
            var p = FreePorts.FromBase(options.PortBase > 0 ? options.PortBase + 10 : 0, 11);
            var registryFolder = Path.Combine(work, "registry");
            Directory.CreateDirectory(registryFolder);
            progress.WriteLine($"starting registry on gRPC {p[0]} (logs in {work})");
            mesh.Registry = await ServiceProcess.StartAsync("registry", Dll(registryProject, "MaaS.Registry.dll"),
            [
                $"--Mesh:GrpcPort={p[0]}",
                $"--Mesh:HttpPort={p[1]}",
                $"--Mesh:DataDirectory={registryFolder}",
                $"--Registry:BlobDirectory={Path.Combine(registryFolder, "blobs")}",
                "--Registry:Store=Sqlite",
                $"--Registry:DatabasePath={Path.Combine(registryFolder, "registry.db")}",
                "--Bus:Transport=InMemory",
                "--Logging:LogLevel:Default=Warning",
            ], p[1], work, Service);
            mesh._started.Add(mesh.Registry);
            mesh.RegistryChannel = BenchMesh.Channel($"http://127.0.0.1:{p[0]}");

            var gatewayArgs = new List<string>();
            for (var i = 0; i < 2; i++)
            {
                var (grpc, rest, metrics) = (p[2 + 3 * i], p[3 + 3 * i], p[4 + 3 * i]);
                var name = $"r{i + 1}";
                progress.WriteLine($"starting replica {name} on gRPC {grpc}");
                var replica = await ServiceProcess.StartAsync(name, Dll(replicaProject, "MaaS.Inference.dll"),
                [
                    "--Bus:Transport=InMemory",
                    // Standalone like scenario a's replica: it serves what RepositoryModelLoad gives it.
                    "--Services:Registry=http://127.0.0.1:9",
                    "--Inference:ResyncSeconds=86400",
                    $"--Inference:ReplicaId=bench-{name}",
                    $"--Mesh:GrpcPort={grpc}",
                    $"--Mesh:HttpPort={rest}",
                    $"--Mesh:MetricsPort={metrics}",
                    $"--Mesh:DataDirectory={Path.Combine(work, name)}",
                    "--Logging:LogLevel:Default=Warning",
                ], rest, work, Service);
                mesh._started.Add(replica);
                mesh._replicas.Add(replica);
                mesh._replicaChannels.Add(BenchMesh.Channel($"http://127.0.0.1:{grpc}"));
                gatewayArgs.Add($"--Gateway:Replicas:{i}:Name={name}");
                gatewayArgs.Add($"--Gateway:Replicas:{i}:GrpcAddress=http://127.0.0.1:{grpc}");
                gatewayArgs.Add($"--Gateway:Replicas:{i}:RestAddress=http://127.0.0.1:{rest}");
            }

            var (gGrpc, gHttp, gMetrics) = (p[8], p[9], p[10]);
            mesh.GatewayGrpc = $"http://127.0.0.1:{gGrpc}";
            mesh.GatewayMetricsPort = gMetrics;
            progress.WriteLine($"starting gateway on gRPC {gGrpc}, metrics {gMetrics}");
            mesh.Gateway = await ServiceProcess.StartAsync("gateway", options.GatewayDll ?? Dll(gatewayProject, "MaaS.Gateway.dll"),
            [
                .. gatewayArgs,
                $"--Services:Registry=http://127.0.0.1:{p[0]}",
                "--Gateway:PollIntervalMs=250",
                "--Bus:Transport=InMemory",
                "--Gateway:Auth:Enabled=false",
                $"--Mesh:GrpcPort={gGrpc}",
                $"--Mesh:HttpPort={gHttp}",
                $"--Mesh:MetricsPort={gMetrics}",
                $"--Mesh:DataDirectory={Path.Combine(work, "gateway")}",
                "--Logging:LogLevel:Default=Warning",
            ], gHttp, work, Service);
            mesh._started.Add(mesh.Gateway);
            mesh.GatewayChannel = BenchMesh.Channel(mesh.GatewayGrpc);
            return mesh;
        }
        catch
        {
            await mesh.DisposeAsync();
            throw;
        }
    }

    /// <summary>The gateway's /metrics text.</summary>
    public async Task<string> GatewayMetricsAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync($"http://127.0.0.1:{GatewayMetricsPort}/metrics");
    }

    private static readonly ServiceProcessOptions Service = new() { StopGrace = TimeSpan.FromSeconds(5), StartTimeout = TimeSpan.FromSeconds(90) };

    private static string Dll(string project, string dll) =>
        Path.Combine(Path.GetDirectoryName(project)!, "bin", "Release", "net10.0", dll);

    /// <summary>Stops every process started, last first.</summary>
    public async ValueTask DisposeAsync()
    {
        RegistryChannel?.Dispose();
        GatewayChannel?.Dispose();
        foreach (var c in _replicaChannels) c.Dispose();
        for (var i = _started.Count - 1; i >= 0; i--) await _started[i].DisposeAsync();
        _started.Clear();
        if (Succeeded)
        {
            try
            {
                Directory.Delete(WorkDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open; the folder is under the temp directory anyway.
            }
        }
    }
}
