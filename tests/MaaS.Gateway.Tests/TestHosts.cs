using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Inference;
using MaaS.Gateway.Routing;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MaaS.Gateway.Tests;

/// <summary>Real Kestrel hosts on free loopback ports: replica doubles, a registry double, the gateway.</summary>
internal static class TestHosts
{
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A replica double serving the given versions of model "m" over gRPC and REST.</summary>
    public static Task<(WebApplication App, ReplicaOptions Options)> StartReplicaAsync(string name, params long[] versions) =>
        StartReplicaAsync(name, unavailable: false, versions);

    /// <summary>A replica double; with <paramref name="unavailable"/> it lists its versions READY but answers every ModelInfer Unavailable.</summary>
    public static async Task<(WebApplication App, ReplicaOptions Options)> StartReplicaAsync(string name, bool unavailable, params long[] versions)
    {
        var (grpcPort, restPort) = (FreePort(), FreePort());
        var builder = Quiet(WebApplication.CreateBuilder());
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, grpcPort, o => o.Protocols = HttpProtocols.Http2);
            k.Listen(IPAddress.Loopback, restPort, o => o.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = MeshHostingExtensions.MaxMessageBytes);
        builder.Services.AddSingleton(new FakeReplica.Identity(name, versions, unavailable));
        var app = builder.Build();
        app.MapGrpcService<FakeReplica>();
        app.MapPost("/v2/models/{model}/versions/{version}/infer", (string model, string version, HttpRequest request) =>
            Results.Json(new RestAnswer(name, model, version, request.Headers["x-maas-resolved-version"].ToString())));
        await app.StartAsync();
        return (app, new ReplicaOptions
        {
            Name = name,
            GrpcAddress = $"http://127.0.0.1:{grpcPort}",
            RestAddress = $"http://127.0.0.1:{restPort}",
        });
    }

    /// <summary>The registry double; with <paramref name="deployment"/> it answers GetDeployment for "m", else Unimplemented.</summary>
    public static async Task<(WebApplication App, string Address)> StartRegistryAsync(Deployment? deployment = null)
    {
        var port = FreePort();
        var builder = Quiet(WebApplication.CreateBuilder());
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new FakeRegistry.Deployments(deployment));
        var app = builder.Build();
        app.MapGrpcService<FakeRegistry>();
        await app.StartAsync();
        return (app, $"http://127.0.0.1:{port}");
    }

    /// <summary>The gateway built exactly as Program builds it, on real ports (h2c needs a socket).</summary>
    public static async Task<(WebApplication App, int GrpcPort, int HttpPort)> StartGatewayAsync(
        IReadOnlyList<ReplicaOptions> replicas, string? registry, int pollIntervalMs, int metricsPort = 0,
        IReadOnlyDictionary<string, string?>? extraSettings = null)
    {
        var (grpcPort, httpPort) = (FreePort(), FreePort());
        var settings = new Dictionary<string, string?>
        {
            ["Mesh:MetricsPort"] = metricsPort.ToString(),
            ["Mesh:GrpcPort"] = grpcPort.ToString(),
            ["Mesh:HttpPort"] = httpPort.ToString(),
            ["Gateway:PollIntervalMs"] = pollIntervalMs.ToString(),
            ["Services:Registry"] = registry,
            // Nothing listens here: the updater is "down".
            ["Services:Updater"] = $"http://127.0.0.1:{FreePort()}",
            ["Logging:LogLevel:Default"] = "Warning",
            // Keys are off unless a test is about them (Security/ tests turn them on through extraSettings).
            ["Gateway:Auth:Enabled"] = "false",
            // Deployment events come over the bus; tests publish them on the in-memory one.
            ["Bus:Transport"] = "InMemory",
        };
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        for (var i = 0; i < replicas.Count; i++)
        {
            settings[$"Gateway:Replicas:{i}:Name"] = replicas[i].Name;
            settings[$"Gateway:Replicas:{i}:GrpcAddress"] = replicas[i].GrpcAddress;
            settings[$"Gateway:Replicas:{i}:RestAddress"] = replicas[i].RestAddress;
            settings[$"Gateway:Replicas:{i}:Pool"] = replicas[i].Pool;
            settings[$"Gateway:Replicas:{i}:ResolveDns"] = replicas[i].ResolveDns ? "true" : "false";
        }
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServiceDefaults();
        builder.AddGateway();
        var app = builder.Build();
        app.MapGateway();
        app.MapMeshDefaults();
        await app.StartAsync();
        return (app, grpcPort, httpPort);
    }

    /// <summary>Waits (bounded) until the gateway's poller has seen what the test needs.</summary>
    public static async Task WaitUntilAsync(WebApplication gateway, Func<RoutingTable, bool> condition)
    {
        var table = gateway.Services.GetRequiredService<RoutingTable>();
        for (var i = 0; i < 300 && !condition(table); i++)
        {
            await Task.Delay(50);
        }
        Assert.True(condition(table), "The gateway's routing table never reached the state the test needs.");
    }

    private static WebApplicationBuilder Quiet(WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        return builder;
    }

    public sealed record RestAnswer(string Replica, string Model, string Version, string Resolved);
}

/// <summary>An inference replica double: says who it is in every answer.</summary>
internal sealed class FakeReplica(FakeReplica.Identity identity) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public sealed record Identity(string Name, long[] Versions, bool Unavailable = false)
    {
        /// <summary>ModelInfer calls this replica received (answered or not).</summary>
        public int InferCalls;
    }

    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context)
    {
        var response = new RepositoryIndexResponse();
        response.Models.AddRange(identity.Versions.Select(v => new RepositoryIndexResponse.Types.ModelIndex
        {
            Name = "m",
            Version = v.ToString(),
            State = "READY",
        }));
        return Task.FromResult(response);
    }

    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref identity.InferCalls);
        if (identity.Unavailable)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"replica {identity.Name} is draining"));
        }
        var resolved = context.RequestHeaders.GetValue("x-maas-resolved-version") ?? "";
        var response = new ModelInferResponse
        {
            ModelName = request.ModelName,
            ModelVersion = resolved.Length > 0 ? resolved : request.ModelVersion,
            Id = request.Id,
        };
        response.Parameters["replica"] = new InferParameter { StringParam = identity.Name };
        response.Parameters["resolved_version"] = new InferParameter { StringParam = resolved };
        response.Parameters["raw_bytes"] = new InferParameter { Int64Param = request.RawInputContents.Sum(r => (long)r.Length) };
        response.Parameters["raw_checksum"] = new InferParameter { Int64Param = Checksum(request.RawInputContents) };
        return Task.FromResult(response);
    }

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelReadyResponse { Ready = true });

    public static long Checksum(IEnumerable<ByteString> contents)
    {
        long sum = 0;
        foreach (var content in contents)
        {
            foreach (var b in content.Span)
            {
                sum = (sum * 31) + b;
            }
        }
        return sum;
    }
}

/// <summary>A registry double: model "m" with production → 2 and staging → 1, plus streaming calls.</summary>
internal sealed class FakeRegistry(FakeRegistry.Deployments deployments) : RegistryService.RegistryServiceBase
{
    /// <summary>What GetDeployment answers for "m"; a test may change it while the registry runs.</summary>
    public sealed class Deployments(Deployment? forM)
    {
        public Deployment? ForM { get; set; } = forM;
    }

    public override Task<GetDeploymentResponse> GetDeployment(GetDeploymentRequest request, ServerCallContext context) =>
        deployments.ForM is { } deployment && request.ModelName == "m"
            ? Task.FromResult(new GetDeploymentResponse { Deployment = deployment })
            : base.GetDeployment(request, context);

    public static Model Model => new() { Name = "m", Aliases = { ["production"] = 2, ["staging"] = 1 }, LatestVersion = 2 };

    public override Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context) =>
        Task.FromResult(new ListModelsResponse { Models = { Model } });

    public override Task<GetModelResponse> GetModel(GetModelRequest request, ServerCallContext context) =>
        request.Name == "m"
            ? Task.FromResult(new GetModelResponse { Model = Model })
            : throw new RpcException(new Status(StatusCode.NotFound, $"model '{request.Name}' does not exist"));

    public override async Task<UploadDatasetResponse> UploadDataset(IAsyncStreamReader<UploadDatasetRequest> requestStream, ServerCallContext context)
    {
        var name = "";
        long size = 0;
        await foreach (var message in requestStream.ReadAllAsync())
        {
            if (message.PayloadCase == UploadDatasetRequest.PayloadOneofCase.Manifest)
            {
                name = message.Manifest.Name;
            }
            else
            {
                size += message.Chunk.Length;
            }
        }
        return new UploadDatasetResponse { Dataset = new DatasetVersion { Name = name, Version = 1, Size = size } };
    }

    public override async Task DownloadDataset(DownloadDatasetRequest request, IServerStreamWriter<DownloadDatasetResponse> responseStream, ServerCallContext context)
    {
        await responseStream.WriteAsync(new DownloadDatasetResponse { Dataset = new DatasetVersion { Name = request.Name, Version = 1 } });
        for (var i = 0; i < 5; i++)
        {
            await responseStream.WriteAsync(new DownloadDatasetResponse { Chunk = ByteString.CopyFrom(new byte[1000]) });
        }
    }
}
