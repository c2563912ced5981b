using System.Globalization;
using Grpc.Net.Client;
using MaaS.Registry.V1;

namespace MaaS.RegistryBenchmarks.Hosting;

/// <summary>
/// One registry process from its Release build, on one metadata store: SQLite (a file in the work folder)
/// or PostgreSQL (a private server started with infra/postgres.sh). Blobs go to the work folder.
/// </summary>
public sealed class RegistryHost : IAsyncDisposable
{
    private readonly ServiceProcess _process;
    private readonly InfraScript? _postgres;

    private RegistryHost(string store, ServiceProcess process, InfraScript? postgres, string address)
    {
        Store = store;
        _process = process;
        _postgres = postgres;
        Address = address;
        Channel = CreateChannel(address);
        Client = new RegistryService.RegistryServiceClient(Channel);
    }

    /// <summary>sqlite or postgres.</summary>
    public string Store { get; }

    /// <summary>The registry's gRPC address.</summary>
    public string Address { get; }

    /// <summary>A channel to the registry.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>A client on <see cref="Channel"/>.</summary>
    public RegistryService.RegistryServiceClient Client { get; }

    /// <summary>The registry process.</summary>
    public ServiceProcess Process => _process;

    /// <summary>The registry's project file.</summary>
    public static string Project(string repoRoot) => Path.Combine(repoRoot, "services", "MaaS.Registry", "MaaS.Registry.csproj");

    /// <summary>Builds the registry in Release (once per run).</summary>
    public static Task BuildAsync(string repoRoot, TextWriter progress) =>
        ProcessRun.BuildReleaseAsync(Project(repoRoot), repoRoot, progress);

    /// <summary>
    /// Starts the store's server (PostgreSQL) and the registry. <paramref name="bus"/> is the list of
    /// <c>Bus:*</c> settings (InMemory when null).
    /// </summary>
    public static async Task<RegistryHost> StartAsync(BenchOptions options, string store, string work, Ports ports,
        IReadOnlyList<string>? bus, TextWriter progress, string name)
    {
        var folder = Path.Combine(work, name);
        Directory.CreateDirectory(folder);
        InfraScript? postgres = null;
        var args = new List<string>
        {
            $"--Mesh:GrpcPort={ports.RegistryGrpc}",
            $"--Mesh:HttpPort={ports.RegistryHttp}",
            $"--Mesh:DataDirectory={folder}",
            $"--Registry:BlobDirectory={Path.Combine(folder, "blobs")}",
            "--Logging:LogLevel:Default=Warning",
            // The dispatcher's publish and back-off lines are what the outage scenario reports.
            "--Logging:LogLevel:MaaS.ServiceDefaults.Outbox=Information",
        };
        args.AddRange(bus ?? ["--Bus:Transport=InMemory"]);
        try
        {
            if (store == "postgres")
            {
                postgres = InfraScript.Postgres(options.RepoRoot, ports.Postgres, Path.Combine(folder, "postgres"), progress);
                await postgres.StartAsync();
                args.Add("--Registry:Store=Postgres");
                args.Add($"--Registry:ConnectionString=Host=127.0.0.1;Port={ports.Postgres.ToString(CultureInfo.InvariantCulture)};Username=maas;Database=maas;Maximum Pool Size=50");
            }
            else
            {
                args.Add("--Registry:Store=Sqlite");
                args.Add($"--Registry:DatabasePath={Path.Combine(folder, "registry.db")}");
            }
            var dll = Path.Combine(Path.GetDirectoryName(Project(options.RepoRoot))!, "bin", "Release", "net10.0", "MaaS.Registry.dll");
            progress.WriteLine($"starting registry ({store}) on gRPC {ports.RegistryGrpc}, HTTP {ports.RegistryHttp} (data and log in {folder})");
            var process = await ServiceProcess.StartAsync(name, dll, args, ports.RegistryHttp, folder, Service);
            return new RegistryHost(store, process, postgres, $"http://127.0.0.1:{ports.RegistryGrpc}");
        }
        catch
        {
            if (postgres is not null) await postgres.StopQuietlyAsync();
            throw;
        }
    }

    // Appended, not replaced: a registry started again under the same name keeps the earlier run's lines to compare.
    private static readonly ServiceProcessOptions Service = new() { StartTimeout = TimeSpan.FromSeconds(90), AppendLog = true };

    /// <summary>A channel with its own connection pool, no proxy, large messages.</summary>
    public static GrpcChannel CreateChannel(string address) => GrpcChannels.Dedicated(address);

    /// <summary>Stops the registry, then its PostgreSQL server.</summary>
    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _process.DisposeAsync();
        if (_postgres is not null) await _postgres.StopQuietlyAsync();
    }
}

/// <summary>The loopback ports of one run.</summary>
/// <param name="RegistryGrpc">Registry gRPC.</param>
/// <param name="RegistryHttp">Registry HTTP (health).</param>
/// <param name="Postgres">PostgreSQL.</param>
/// <param name="RabbitMq">RabbitMQ AMQP.</param>
/// <param name="RabbitDist">RabbitMQ's Erlang distribution port (its CLI talks to the node there).</param>
/// <param name="RabbitEpmd">The broker's private epmd.</param>
public sealed record Ports(int RegistryGrpc, int RegistryHttp, int Postgres, int RabbitMq, int RabbitDist, int RabbitEpmd)
{
    /// <summary>How many ports a run takes.</summary>
    public const int Count = 6;

    /// <summary>Ports from <paramref name="portBase"/> on, or free ones the OS picks when it is 0.</summary>
    public static Ports Pick(int portBase)
    {
        // rabbitmq.sh would put dist and epmd at port+20000 / +10000, past 65535 for an OS-picked port: name them.
        var p = FreePorts.FromBase(portBase, Count);
        return new Ports(p[0], p[1], p[2], p[3], p[4], p[5]);
    }
}
