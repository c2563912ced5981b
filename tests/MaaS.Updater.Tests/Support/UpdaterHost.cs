using MaaS.Updater.Drift;
using MaaS.Updater.Registry;
using MaaS.Updater.Rollout;
using MaaS.Updater.Storage;
using MaaS.Updater.V1;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Updater.Tests.Support;

/// <summary>
/// The updater hosted in-process with a real SQLite file and ONNX Runtime, the in-memory bus, and fakes for
/// the registry, rollouts, drift and the clock. The trigger loop is off unless asked for: tests run its steps themselves.
/// </summary>
public sealed class UpdaterHost : IDisposable
{
    private WebApplicationFactory<Program> factory;

    private readonly bool loop;

    /// <summary>Starts a host on a fresh data directory; with <paramref name="loop"/>, the trigger loop runs (ticking every 50 ms).</summary>
    public UpdaterHost(bool loop = false)
    {
        this.loop = loop;
        factory = Create();
        Client = Connect();
    }

    /// <summary>The SQLite folder (kept across <see cref="Restart"/>).</summary>
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "maas-updater-host-" + Guid.NewGuid().ToString("N"));

    /// <summary>The registry the updater talks to.</summary>
    public FakeRegistry Registry { get; } = new();

    /// <summary>The rollout manager.</summary>
    public FakeRolloutManager Rollouts { get; } = new();

    /// <summary>The drift monitor.</summary>
    public FakeDriftMonitor Drift { get; } = new();

    /// <summary>The clock.</summary>
    public ManualClock Clock { get; } = new();

    /// <summary>A gRPC client of the service.</summary>
    public UpdaterService.UpdaterServiceClient Client { get; private set; }

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => factory.Services;

    /// <summary>A service of the host.</summary>
    public T Get<T>() where T : notnull => factory.Services.GetRequiredService<T>();

    /// <summary>Stops the process and starts a new one on the same SQLite file.</summary>
    public void Restart()
    {
        factory.Dispose();
        SqliteConnection.ClearAllPools();
        factory = Create();
        Client = Connect();
    }

    /// <summary>Message types waiting in the outbox or sent, oldest first, with their JSON.</summary>
    public List<(string Type, string Payload)> Outbox()
    {
        using var connection = Get<UpdaterDatabase>().Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT message_type, payload FROM outbox ORDER BY id";
        using var reader = cmd.ExecuteReader();
        var messages = new List<(string, string)>();
        while (reader.Read()) messages.Add((reader.GetString(0), reader.GetString(1)));
        return messages;
    }

    private WebApplicationFactory<Program> Create() => new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
    {
        b.UseSetting("Bus:Transport", "InMemory");
        b.UseSetting("Mesh:GrpcPort", "1");
        b.UseSetting("Mesh:DataDirectory", DataDirectory);
        b.UseSetting("Services:Registry", "http://127.0.0.1:9");
        b.UseSetting("Updater:TriggerLoopEnabled", loop ? "true" : "false");
        b.UseSetting("Updater:TriggerTickMilliseconds", "50");
        b.UseSetting("OnnxRuntime:PreferCuda", "false");
        b.ConfigureTestServices(services =>
        {
            services.AddSingleton<IRegistryGateway>(Registry);
            services.AddSingleton<IRolloutManager>(Rollouts);
            services.AddSingleton<IDriftMonitor>(Drift);
            services.AddSingleton<TimeProvider>(Clock);
        });
    });

    private UpdaterService.UpdaterServiceClient Connect() => UpdaterFactories.Connect(factory);

    /// <inheritdoc />
    public void Dispose() => UpdaterFactories.Dispose(factory, DataDirectory);
}
