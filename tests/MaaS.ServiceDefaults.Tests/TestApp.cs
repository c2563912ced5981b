using System.Diagnostics;
using Grpc.Net.Client;
using MaaS.Contracts;
using MaaS.ServiceDefaults;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MaaS.ServiceDefaults.Tests;

/// <summary>
/// A service built like every MaaS.Mesh service (AddServiceDefaults, AddMeshBus on the in-memory transport,
/// MapMeshDefaults) on a test server, with an endpoint that logs a line and a consumer that records the trace
/// each message arrived in.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    /// <summary>Text the /log endpoint logs, to find its line.</summary>
    public const string Marker = "observability-probe";

    private TestApp(WebApplication app)
    {
        App = app;
        Channel = GrpcChannel.ForAddress(app.GetTestServer().BaseAddress, new GrpcChannelOptions { HttpHandler = app.GetTestServer().CreateHandler() });
    }

    /// <summary>The running app.</summary>
    public WebApplication App { get; }

    /// <summary>A gRPC channel to it.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>Services of the app.</summary>
    public IServiceProvider Services => App.Services;

    /// <summary>Builds and starts the app with <paramref name="settings"/> on top of the test defaults.</summary>
    public static async Task<TestApp> StartAsync(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mesh:GrpcPort"] = "1",
            ["Mesh:DataDirectory"] = Path.Combine(Path.GetTempPath(), "maas-servicedefaults-tests"),
            ["Bus:Transport"] = "InMemory",
            ["Logging:LogLevel:Default"] = "Information",
        });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServiceDefaults();
        builder.AddMeshBus(x => x.AddConsumer<TraceProbeConsumer>());
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapGet("/log", (ILogger<TestApp> logger) =>
        {
            LogProbe(logger, Marker);
            return Activity.Current?.TraceId.ToHexString() ?? "";
        });
        app.MapMeshDefaults();
        await app.StartAsync();
        return new TestApp(app);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    private static void LogProbe(ILogger logger, string marker) => logger.LogInformation("Probe {Marker}", marker);
}

/// <summary>Records the trace id each DataIngested arrived in, by its correlation id.</summary>
public sealed class TraceProbeConsumer : IConsumer<DataIngested>
{
    private static readonly Dictionary<string, TaskCompletionSource<string>> Arrivals = new(StringComparer.Ordinal);

    /// <summary>Completes with the trace id (empty: none) the message with <paramref name="correlationId"/> was consumed in.</summary>
    public static Task<string> ArrivalOf(string correlationId)
    {
        lock (Arrivals)
        {
            if (!Arrivals.TryGetValue(correlationId, out var arrival))
            {
                arrival = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                Arrivals[correlationId] = arrival;
            }
            return arrival.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <inheritdoc />
    public Task Consume(ConsumeContext<DataIngested> context)
    {
        var traceId = Activity.Current?.TraceId.ToHexString() ?? "";
        lock (Arrivals)
        {
            if (!Arrivals.TryGetValue(context.Message.CorrelationId, out var arrival))
            {
                arrival = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                Arrivals[context.Message.CorrelationId] = arrival;
            }
            arrival.TrySetResult(traceId);
        }
        return Task.CompletedTask;
    }
}

/// <summary>A parent activity as a caller's request would bring: W3C ids, sampled.</summary>
public static class Traces
{
    /// <summary>Starts a sampled activity (Activity.Current until disposed).</summary>
    public static Activity StartCaller(string name = "caller")
    {
        var activity = new Activity(name);
        activity.SetIdFormat(ActivityIdFormat.W3C);
        activity.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        return activity.Start();
    }
}
