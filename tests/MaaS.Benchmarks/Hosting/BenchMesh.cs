using System.Globalization;
using Grpc.Net.Client;

namespace MaaS.Benchmarks.Hosting;

/// <summary>
/// What the benchmark measures: one inference replica standing alone (in-memory bus, no registry) and
/// a gateway pointed at it (no registry: it routes an empty version to the newest ready one).
/// </summary>
public sealed class BenchMesh : IAsyncDisposable
{
    private readonly List<ServiceProcess> _started = [];

    private BenchMesh(string workDirectory) => WorkDirectory = workDirectory;

    /// <summary>Temporary folder with the services' data and logs.</summary>
    public string WorkDirectory { get; }

    /// <summary>The replica (null until started).</summary>
    public ServiceProcess Replica { get; private set; } = null!;

    /// <summary>The gateway (null unless started).</summary>
    public ServiceProcess? Gateway { get; private set; }

    /// <summary>Replica gRPC address.</summary>
    public string ReplicaGrpc { get; private set; } = "";

    /// <summary>Gateway gRPC address.</summary>
    public string GatewayGrpc { get; private set; } = "";

    /// <summary>A channel to the replica for control calls (loads, checks), not for measured load.</summary>
    public GrpcChannel ReplicaChannel { get; private set; } = null!;

    /// <summary>A channel to the gateway for control calls; null without a gateway.</summary>
    public GrpcChannel? GatewayChannel { get; private set; }

    /// <summary>The `authorization` header with the key the gateway created (calls through the gateway carry it).</summary>
    public Grpc.Core.Metadata GatewayKeyHeaders { get; private set; } = [];

    /// <summary>Replica Prometheus port.</summary>
    public int ReplicaMetricsPort { get; private set; }

    /// <summary>Builds (unless told not to) and starts the replica and, when asked, the gateway.</summary>
    /// <param name="options">The command line.</param>
    /// <param name="withGateway">Whether to start the gateway too.</param>
    /// <param name="progress">Where to say what is happening.</param>
    /// <param name="portOffset">Added to --port-base, so that a second mesh does not take the first one's ports.</param>
    /// <param name="build">Whether to build first (unless --no-build).</param>
    /// <param name="name">Name of the replica's log file.</param>
    public static async Task<BenchMesh> StartAsync(BenchmarkOptions options, bool withGateway, TextWriter progress,
        int portOffset = 0, bool build = true, string name = "replica")
    {
        var replicaProject = Path.Combine(options.RepoRoot, "services", "MaaS.Inference", "MaaS.Inference.csproj");
        var gatewayProject = Path.Combine(options.RepoRoot, "gateway", "MaaS.Gateway", "MaaS.Gateway.csproj");
        if (build && !options.NoBuild)
        {
            await ProcessRun.BuildReleaseAsync(replicaProject, options.RepoRoot, progress);
            if (withGateway) await ProcessRun.BuildReleaseAsync(gatewayProject, options.RepoRoot, progress);
        }

        var work = Path.Combine(Path.GetTempPath(), "maas-bench-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Environment.ProcessId);
        Directory.CreateDirectory(work);
        var mesh = new BenchMesh(work);
        try
        {
            var ports = FreePorts.FromBase(options.PortBase > 0 ? options.PortBase + portOffset : 0, 5);
            var (rGrpc, rHttp, rMetrics, gGrpc, gHttp) = (ports[0], ports[1], ports[2], ports[3], ports[4]);
            mesh.ReplicaGrpc = $"http://127.0.0.1:{rGrpc}";
            mesh.ReplicaMetricsPort = rMetrics;
            progress.WriteLine($"starting {name} on gRPC {rGrpc}, REST {rHttp}, metrics {rMetrics} (logs in {work})");
            mesh.Replica = await ServiceProcess.StartAsync(name, Dll(replicaProject, "MaaS.Inference.dll"),
            [
                "--Bus:Transport=InMemory",
                // Nothing listens on port 9 (discard): the replica runs standalone and serves what it is given.
                "--Services:Registry=http://127.0.0.1:9",
                "--Inference:ResyncSeconds=86400",
                "--Inference:ReplicaId=bench",
                $"--Mesh:GrpcPort={rGrpc}",
                $"--Mesh:HttpPort={rHttp}",
                $"--Mesh:MetricsPort={rMetrics}",
                $"--Mesh:DataDirectory={Path.Combine(work, name)}",
                "--Logging:LogLevel:Default=Warning",
                // The one line that says which execution provider ONNX Runtime really uses.
                "--Logging:LogLevel:MaaS.Onnx=Information",
            ], rHttp, work, Service);
            mesh._started.Add(mesh.Replica);
            mesh.ReplicaChannel = Channel(mesh.ReplicaGrpc);

            if (withGateway)
            {
                mesh.GatewayGrpc = $"http://127.0.0.1:{gGrpc}";
                progress.WriteLine($"starting gateway on gRPC {gGrpc}, REST {gHttp}");
                mesh.Gateway = await ServiceProcess.StartAsync("gateway", options.GatewayDll ?? Dll(gatewayProject, "MaaS.Gateway.dll"),
                [
                    "--Gateway:Replicas:0:Name=bench",
                    $"--Gateway:Replicas:0:GrpcAddress=http://127.0.0.1:{rGrpc}",
                    $"--Gateway:Replicas:0:RestAddress=http://127.0.0.1:{rHttp}",
                    "--Gateway:PollIntervalMs=250",
                    // Standalone: no RabbitMQ for deployment events. Keys stay on, as in the product: every call
                    // carries the admin key the gateway creates, so the key check is part of what is measured.
                    "--Bus:Transport=InMemory",
                    $"--Gateway:Auth:AdminKeyFile={Path.Combine(work, "gateway-admin.key")}",
                    $"--Mesh:GrpcPort={gGrpc}",
                    $"--Mesh:HttpPort={gHttp}",
                    $"--Mesh:DataDirectory={Path.Combine(work, "gateway")}",
                    "--Logging:LogLevel:Default=Warning",
                ], gHttp, work, Service);
                mesh._started.Add(mesh.Gateway);
            mesh.GatewayKeyHeaders = new Grpc.Core.Metadata
            {
                { "authorization", "Bearer " + File.ReadLines(Path.Combine(work, "gateway-admin.key")).First().Trim() },
            };
            mesh.GatewayChannel = Channel(mesh.GatewayGrpc);
            }
            return mesh;
        }
        catch
        {
            await mesh.DisposeAsync();
            throw;
        }
    }

    // Health on the HTTP port's /livez; SIGTERM, then a kill after 5 s.
    private static readonly ServiceProcessOptions Service = new() { StopGrace = TimeSpan.FromSeconds(5) };

    /// <summary>A channel for benchmark callers: its own connection pool, no proxy, large messages.</summary>
    public static GrpcChannel Channel(string address) => GrpcChannels.Dedicated(address);

    private static string Dll(string project, string dll) =>
        Path.Combine(Path.GetDirectoryName(project)!, "bin", "Release", "net10.0", dll);

    /// <summary>Set when everything worked: the work folder (data, logs) is then removed on dispose; kept otherwise, to read the logs.</summary>
    public bool Succeeded { get; set; }

    /// <summary>Stops every process started, last first.</summary>
    public async ValueTask DisposeAsync()
    {
        ReplicaChannel?.Dispose();
        GatewayChannel?.Dispose();
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
