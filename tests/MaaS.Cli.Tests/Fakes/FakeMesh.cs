using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using MaaS.Gateway.V1;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using MaaS.Updater.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MaaS.Cli.Tests.Fakes;

/// <summary>What the fakes saw and what they answer; one per fake mesh.</summary>
public sealed class FakeState
{
    /// <summary>"Service/Method" of every call, in order.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>The authorization header of the latest call ("" when none).</summary>
    public string LastAuthorization { get; set; } = "";

    /// <summary>The latest SubmitJob request.</summary>
    public SubmitJobRequest? Submitted { get; set; }

    /// <summary>The latest SetDeployment request.</summary>
    public SetDeploymentRequest? Deployed { get; set; }

    /// <summary>The bytes UploadDataset received.</summary>
    public long UploadedBytes { get; set; }

    /// <summary>The manifest UploadDataset received.</summary>
    public DatasetManifest? UploadManifest { get; set; }
}

/// <summary>Registry, trainer, updater and key fakes on one real Kestrel port (h2c), as the gateway would expose them.</summary>
public sealed class FakeMesh : IAsyncDisposable
{
    private readonly WebApplication app;

    private FakeMesh(WebApplication app, string address, string restAddress, FakeState state)
    {
        this.app = app;
        Address = address;
        RestAddress = restAddress;
        State = state;
    }

    /// <summary>The REST side (HTTP/1.1): http://127.0.0.1:port.</summary>
    public string RestAddress { get; }

    /// <summary>http://127.0.0.1:port.</summary>
    public string Address { get; }

    /// <summary>What the fakes saw.</summary>
    public FakeState State { get; }

    /// <summary>Starts the fakes on a free loopback port.</summary>
    public static async Task<FakeMesh> StartAsync()
    {
        var (port, restPort) = (FreePort(), FreePort());
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2);
            k.Listen(IPAddress.Loopback, restPort, o => o.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddGrpc();
        var state = new FakeState();
        builder.Services.AddSingleton(state);
        var app = builder.Build();
        app.MapGrpcService<FakeRegistry>();
        app.MapGrpcService<FakeTrainer>();
        app.MapGrpcService<FakeUpdater>();
        app.MapGrpcService<FakeKeys>();
        app.MapGrpcService<FakeInference>();
        FakeInference.MapRest(app, state);
        await app.StartAsync();
        return new FakeMesh(app, $"http://127.0.0.1:{port}", $"http://127.0.0.1:{restPort}", state);
    }

    /// <summary>A port nothing listens on (yet).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
