using Grpc.Net.Client;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Trainer.Tests.Support;

/// <summary>
/// The real trainer in memory: its registry client talks gRPC to a <see cref="FakeRegistry"/>, and
/// MassTransit's test harness replaces the broker (keeping the TrainModel consumer) and records messages.
/// </summary>
public sealed class TrainerFactory : WebApplicationFactory<Program>
{
    private readonly WebApplication registryApp;
    private readonly string dataDirectory;
    private readonly bool ownsDirectory;
    private readonly IReadOnlyDictionary<string, string?> settings;
    private readonly Action<IServiceCollection>? configureServices;

    /// <summary>Starts the fake registry the trainer will use, with a data directory of its own.</summary>
    public TrainerFactory()
        : this(null, new Dictionary<string, string?>())
    {
    }

    /// <summary>
    /// A trainer on <paramref name="dataDirectory"/> (kept on dispose, so a second factory can restart on it;
    /// null = a temporary one removed on dispose) with extra configuration.
    /// </summary>
    internal TrainerFactory(string? dataDirectory, IReadOnlyDictionary<string, string?> settings)
        : this(dataDirectory, settings, null)
    {
    }

    /// <summary>As above, with services replaced after the trainer's own (e.g. how peers are reached).</summary>
    internal TrainerFactory(string? dataDirectory, IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? configureServices)
    {
        this.configureServices = configureServices;
        (registryApp, Registry) = FakeRegistry.Start();
        ownsDirectory = dataDirectory is null;
        this.dataDirectory = dataDirectory ?? NewDataDirectory();
        this.settings = settings;
    }

    /// <summary>A fresh temporary data directory path.</summary>
    public static string NewDataDirectory() => Path.Combine(Path.GetTempPath(), "maas-trainer-tests-" + Guid.NewGuid().ToString("N"));

    /// <summary>The registry the trainer talks to.</summary>
    public FakeRegistry Registry { get; }

    /// <summary>A client over a real gRPC channel into the test server.</summary>
    public TrainerService.TrainerServiceClient Client()
    {
        var channel = GrpcChannel.ForAddress(Server.BaseAddress, new GrpcChannelOptions { HttpHandler = Server.CreateHandler() });
        return new TrainerService.TrainerServiceClient(channel);
    }

    /// <inheritdoc />
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Bus:Transport", "InMemory");
        builder.UseSetting("Mesh:GrpcPort", "1");
        builder.UseSetting("Mesh:DataDirectory", dataDirectory);
        builder.UseSetting("Services:Registry", "http://registry.test");
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
        builder.ConfigureTestServices(services =>
        {
            services.AddGrpcClient<RegistryService.RegistryServiceClient>()
                .ConfigurePrimaryHttpMessageHandler(() => registryApp.GetTestServer().CreateHandler());
            // The harness's inactivity signal fires once and for good: after the bus has been idle for its
            // default 1.2 s every later Any() answers at once. The class's tests run for longer than that
            // between messages (training jobs), so inactivity is pushed past any run; negative checks pass
            // a cancelled token to look only at what was recorded.
            services.AddMassTransitTestHarness(x => x.SetTestTimeouts(testTimeout: TimeSpan.FromMinutes(2), testInactivityTimeout: TimeSpan.FromMinutes(10)));
            configureServices?.Invoke(services);
        });
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await registryApp.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (ownsDirectory && Directory.Exists(dataDirectory)) Directory.Delete(dataDirectory, recursive: true);
    }
}
