using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.V1;
using MaaS.Updater.Drift;
using MaaS.Updater.Registry;
using MaaS.Updater.Rollout;
using MaaS.Updater.Storage;
using MaaS.Updater.Tests.Support;
using MaaS.Updater.V1;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Updater.Tests.Rollout;

/// <summary>A registry's versions, production alias and deployments, in memory; every change is recorded in order.</summary>
public sealed class FakeDeploymentRegistry : IRolloutRegistry
{
    private readonly object gate = new();
    private readonly Dictionary<(string, long), VersionStatus> versions = new();
    private readonly Dictionary<string, long> production = new();
    private readonly Dictionary<string, Deployment> deployments = new();

    /// <summary>When true, every call answers Unavailable (the registry is away).</summary>
    public bool Down { get; set; }

    /// <summary>Every deployment set, in order.</summary>
    public List<Deployment> Deployments { get; } = [];

    /// <summary>Every production move, in order: (model, version, reason).</summary>
    public List<(string Model, long Version, string Reason)> AliasMoves { get; } = [];

    /// <summary>Registers versions; the first given becomes production.</summary>
    public void Add(string model, params long[] numbers)
    {
        lock (gate)
        {
            foreach (var n in numbers) versions[(model, n)] = VersionStatus.Ready;
            production.TryAdd(model, numbers[0]);
        }
    }

    /// <summary>Sets a deployment as if someone had (not recorded in <see cref="Deployments"/>).</summary>
    public void Preset(string model, params DeploymentEntry[] entries)
    {
        lock (gate)
        {
            var deployment = new Deployment { ModelName = model, Revision = 1 };
            deployment.Entries.AddRange(entries);
            deployments[model] = deployment;
        }
    }

    /// <summary>Archives a version.</summary>
    public void Archive(string model, long version)
    {
        lock (gate) versions[(model, version)] = VersionStatus.Archived;
    }

    /// <summary>The production version of a model.</summary>
    public long Production(string model)
    {
        lock (gate) return production.GetValueOrDefault(model);
    }

    /// <summary>The current deployment as "version@pool:weight,..." plus " shadow version:percent".</summary>
    public string Current(string model)
    {
        lock (gate) return deployments.TryGetValue(model, out var d) ? Show(d) : "";
    }

    /// <summary>A deployment as "version@pool:weight,..." plus " shadow version:percent".</summary>
    public static string Show(Deployment d) =>
        string.Join(",", d.Entries.Select(e => $"{e.Version}@{e.Pool}:{e.Weight}")) + (d.Shadow is { } s ? $" shadow {s.Version}:{s.Percent}" : "");

    /// <inheritdoc />
    public Task<ModelVersion> GetVersionAsync(string model, long version, CancellationToken ct)
    {
        lock (gate)
        {
            ThrowIfDown();
            return versions.TryGetValue((model, version), out var status)
                ? Task.FromResult(new ModelVersion { ModelName = model, Version = version, Status = status })
                : throw new RpcException(new Status(StatusCode.NotFound, $"Version {version} of '{model}' not found."));
        }
    }

    /// <inheritdoc />
    public Task<long> GetProductionAsync(string model, CancellationToken ct)
    {
        lock (gate)
        {
            ThrowIfDown();
            return Task.FromResult(production.GetValueOrDefault(model));
        }
    }

    /// <inheritdoc />
    public Task<Deployment?> GetDeploymentAsync(string model, CancellationToken ct)
    {
        lock (gate)
        {
            ThrowIfDown();
            return Task.FromResult(deployments.TryGetValue(model, out var d) ? d.Clone() : null);
        }
    }

    /// <inheritdoc />
    public Task SetDeploymentAsync(string model, IReadOnlyList<DeploymentEntry> entries, ShadowTarget? shadow, string reason, CancellationToken ct)
    {
        lock (gate)
        {
            ThrowIfDown();
            if (entries.Sum(e => e.Weight) != 100) throw new RpcException(new Status(StatusCode.InvalidArgument, "weights must sum to 100"));
            var deployment = new Deployment { ModelName = model, Shadow = shadow?.Clone(), Reason = reason, Actor = RolloutRegistry.Actor };
            deployment.Entries.AddRange(entries.Select(e => e.Clone()));
            if (deployments.TryGetValue(model, out var current) && Show(current) == Show(deployment)) return Task.CompletedTask;
            deployment.Revision = (current?.Revision ?? 0) + 1;
            deployments[model] = deployment;
            Deployments.Add(deployment);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task SetProductionAsync(string model, long version, string reason, CancellationToken ct)
    {
        lock (gate)
        {
            ThrowIfDown();
            production[model] = version;
            AliasMoves.Add((model, version, reason));
        }
        return Task.CompletedTask;
    }

    private void ThrowIfDown()
    {
        if (Down) throw new RpcException(new Status(StatusCode.Unavailable, "the registry is away"));
    }
}

/// <summary>
/// The updater hosted in-process with the real rollout manager on a real SQLite file, the in-memory bus, a fake
/// registry (deployments and aliases) and a clock moved by hand. The driver is off: tests tick the manager themselves.
/// </summary>
public sealed class RolloutHost : IDisposable
{
    private WebApplicationFactory<Program> factory;

    /// <summary>Starts a host on a fresh data directory.</summary>
    public RolloutHost()
    {
        factory = Create();
        Client = Connect();
    }

    /// <summary>The SQLite folder (kept across <see cref="Restart"/>).</summary>
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "maas-updater-rollout-" + Guid.NewGuid().ToString("N"));

    /// <summary>The registry's deployments and aliases.</summary>
    public FakeDeploymentRegistry Registry { get; } = new();

    /// <summary>The registry as the rest of the updater sees it (models, champion).</summary>
    public FakeRegistry Models { get; } = new();

    /// <summary>The clock.</summary>
    public ManualClock Clock { get; } = new();

    /// <summary>A gRPC client of the service.</summary>
    public UpdaterService.UpdaterServiceClient Client { get; private set; }

    /// <summary>The rollout manager of the running host.</summary>
    public RolloutManager Manager => factory.Services.GetRequiredService<RolloutManager>();

    /// <summary>Stops the process and starts a new one on the same SQLite file.</summary>
    public void Restart()
    {
        factory.Dispose();
        SqliteConnection.ClearAllPools();
        factory = Create();
        Client = Connect();
    }

    /// <summary>Moves the clock and runs one driver pass.</summary>
    public async Task Tick(double seconds = 0)
    {
        Clock.Now += TimeSpan.FromSeconds(seconds);
        await Manager.TickAsync(CancellationToken.None);
    }

    /// <summary>
    /// Counts a traffic window for a version of "m": calls, server errors and every call's latency in the bucket
    /// that holds <paramref name="latencyMs"/>; the window is the second from now. True when it was counted.
    /// </summary>
    public bool Observe(long version, long requests, long errors = 0, double latencyMs = 0.4, long shadowRequests = 0, long shadowErrors = 0, string model = "m")
    {
        var buckets = new long[TrafficObserved.LatencyBoundsMs.Length + 1];
        var bucket = Array.FindIndex(TrafficObserved.LatencyBoundsMs, b => latencyMs <= b);
        buckets[bucket < 0 ? buckets.Length - 1 : bucket] = requests;
        return Manager.Observe(new TrafficObserved
        {
            ModelName = model, Version = version, Source = "gw", WindowStart = Clock.Now, WindowEnd = Clock.Now.AddSeconds(1),
            Requests = requests, Errors = errors, LatencyBuckets = buckets, ShadowRequests = shadowRequests, ShadowErrors = shadowErrors,
        });
    }

    /// <summary>The model's rollout as the rpc answers it.</summary>
    public async Task<V1.Rollout> Get(string model = "m") => (await Client.GetRolloutAsync(new GetRolloutRequest { ModelName = model })).Rollout;

    /// <summary>Message types written to the outbox, oldest first, with their JSON.</summary>
    public List<(string Type, string Payload)> Outbox()
    {
        using var connection = factory.Services.GetRequiredService<UpdaterDatabase>().Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT message_type, payload FROM outbox ORDER BY id";
        using var reader = cmd.ExecuteReader();
        var messages = new List<(string, string)>();
        while (reader.Read()) messages.Add((reader.GetString(0), reader.GetString(1)));
        return messages;
    }

    /// <summary>The events of a type in the outbox, oldest first.</summary>
    public List<T> Events<T>() where T : MeshMessage =>
        Outbox().Where(m => m.Type == typeof(T).FullName).Select(m => System.Text.Json.JsonSerializer.Deserialize<T>(m.Payload)!).ToList();

    /// <summary>The model's timeline.</summary>
    public async Task<List<TimelineEntry>> Timeline(string model = "m") =>
        [.. (await Client.ExplainModelAsync(new ExplainModelRequest { ModelName = model })).Entries];

    /// <summary>A service of the running host.</summary>
    public T Get<T>() where T : notnull => factory.Services.GetRequiredService<T>();

    private WebApplicationFactory<Program> Create() => new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
    {
        b.UseSetting("Bus:Transport", "InMemory");
        b.UseSetting("Mesh:GrpcPort", "1");
        b.UseSetting("Mesh:DataDirectory", DataDirectory);
        b.UseSetting("Services:Registry", "http://127.0.0.1:9");
        b.UseSetting("Updater:TriggerLoopEnabled", "false");
        b.UseSetting("Updater:Rollouts:DriverEnabled", "false");
        b.UseSetting("OnnxRuntime:PreferCuda", "false");
        b.ConfigureTestServices(services =>
        {
            services.AddSingleton<IRegistryGateway>(Models);
            services.AddSingleton<IRolloutRegistry>(Registry);
            services.AddSingleton<IDriftMonitor>(new FakeDriftMonitor());
            services.AddSingleton<TimeProvider>(Clock);
        });
    });

    private UpdaterService.UpdaterServiceClient Connect() => UpdaterFactories.Connect(factory);

    /// <inheritdoc />
    public void Dispose() => UpdaterFactories.Dispose(factory, DataDirectory);
}
