using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Gateway.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MaaS.Testing.Mesh;

namespace MaaS.Gateway.Tests;

/// <summary>
/// Two streaming replica doubles (a: m v1, b: m v2), the registry double (production → 2) and the real gateway:
/// Triton's ModelStreamInfer and ModelConfig through the gateway.
/// </summary>
public sealed class StreamRoutingFixture : IAsyncLifetime
{
    private readonly List<WebApplication> _hosts = [];

    public GrpcChannel Channel { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var (a, replicaA) = await StartStreamingReplicaAsync("replica-a", 1);
        var (b, replicaB) = await StartStreamingReplicaAsync("replica-b", 2);
        var (registry, registryAddress) = await TestHosts.StartRegistryAsync();
        var (gateway, grpcPort, _) = await TestHosts.StartGatewayAsync([replicaA, replicaB], registryAddress, pollIntervalMs: 100);
        _hosts.AddRange([gateway, a, b, registry]);
        await TestHosts.WaitUntilAsync(gateway, t =>
            t.Resolve("m", "1").Outcome == RouteOutcome.Found && t.Resolve("m", "2").Outcome == RouteOutcome.Found
            && t.Resolve("m", "").Outcome == RouteOutcome.Found);
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
    }

    private static async Task<(WebApplication App, ReplicaOptions Options)> StartStreamingReplicaAsync(string name, long version)
    {
        var (grpcPort, restPort) = (TestHosts.FreePort(), TestHosts.FreePort());
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, grpcPort, o => o.Protocols = HttpProtocols.Http2);
            k.Listen(IPAddress.Loopback, restPort, o => o.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new StreamingReplica.Identity(name, version));
        var app = builder.Build();
        app.MapGrpcService<StreamingReplica>();
        await app.StartAsync();
        return (app, new ReplicaOptions
        {
            Name = name,
            GrpcAddress = $"http://127.0.0.1:{grpcPort}",
            RestAddress = $"http://127.0.0.1:{restPort}",
        });
    }
}

public sealed class StreamRoutingTests(StreamRoutingFixture fixture) : IClassFixture<StreamRoutingFixture>
{
    private GRPCInferenceService.GRPCInferenceServiceClient Inference => new(fixture.Channel);

    [Theory]
    [InlineData("1", "replica-a", "")]
    [InlineData("2", "replica-b", "")]
    [InlineData("", "replica-b", "2")]
    public async Task ModelStreamInfer_FirstMessagesModel_WholeStreamReachesThatReplica(string version, string replica, string resolved)
    {
        var answers = await StreamAsync(
            Request("s1", version), Request("s2", version), Request("s3", version));

        Assert.Equal(["s1", "s2", "s3"], answers.Select(a => a.InferResponse.Id).Order());
        Assert.All(answers, a => Assert.Equal(replica, a.InferResponse.Parameters["replica"].StringParam));
        Assert.All(answers, a => Assert.Equal(resolved, a.InferResponse.Parameters["resolved_version"].StringParam));
        // One stream on the replica side too: the gateway does not split it.
        Assert.All(answers, a => Assert.Equal(answers[0].InferResponse.Parameters["stream"].StringParam, a.InferResponse.Parameters["stream"].StringParam));
    }

    [Fact]
    public async Task ModelStreamInfer_SeveralRequests_AnsweredInOrderOfCompletionWithTheirIds()
    {
        // "first" is held by the replica until "second" has been answered: answers come as requests finish.
        var first = Request("first", "1");
        first.Parameters["wait_for"] = new InferParameter { StringParam = "second" };

        var answers = await StreamAsync(first, Request("second", "1"), Request("third", "1"));

        Assert.Equal(3, answers.Count);
        Assert.True(answers.FindIndex(a => a.InferResponse.Id == "second") < answers.FindIndex(a => a.InferResponse.Id == "first"));
        Assert.Equal(["first", "second", "third"], answers.Select(a => a.InferResponse.Id).Order());
    }

    [Fact]
    public async Task ModelStreamInfer_AnswerBeforeTheNextRequest_StreamedBothWays()
    {
        // Each answer arrives while the client's side is still open: the gateway buffers neither direction.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var call = Inference.ModelStreamInfer(cancellationToken: cts.Token);
        foreach (var id in new[] { "ping-1", "ping-2", "ping-3" })
        {
            await call.RequestStream.WriteAsync(Request(id, "1"));
            Assert.True(await call.ResponseStream.MoveNext(cts.Token));
            Assert.Equal(id, call.ResponseStream.Current.InferResponse.Id);
        }
        await call.RequestStream.CompleteAsync();

        Assert.False(await call.ResponseStream.MoveNext(cts.Token));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ModelStreamInfer_UnknownModel_NotFoundBeforeAnyReplica()
    {
        using var call = Inference.ModelStreamInfer();
        await call.RequestStream.WriteAsync(new ModelInferRequest { ModelName = "nobody", Id = "x" });
        await call.RequestStream.CompleteAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Theory]
    [InlineData("1", "replica-a")]
    [InlineData("2", "replica-b")]
    public async Task ModelConfig_PinnedVersion_RoutedToTheReplicaWithThatVersion(string version, string replica)
    {
        var response = await Inference.ModelConfigAsync(new ModelConfigRequest { Name = "m", Version = version });

        Assert.Equal("m", response.Config.Name);
        Assert.Equal(replica, response.Config.Backend);
    }

    private static ModelInferRequest Request(string id, string version) => new() { ModelName = "m", ModelVersion = version, Id = id };

    private Task<List<ModelStreamInferResponse>> StreamAsync(params ModelInferRequest[] requests) =>
        StreamInferCalls.SendAllAsync(Inference, requests);
}

/// <summary>
/// A replica double for the streaming rpcs: answers each stream request concurrently with who it is; a request with
/// parameter wait_for = id is answered only after that id's answer was written.
/// </summary>
internal sealed class StreamingReplica(StreamingReplica.Identity identity) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public sealed record Identity(string Name, long Version);

    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context)
    {
        var response = new RepositoryIndexResponse();
        response.Models.Add(new RepositoryIndexResponse.Types.ModelIndex { Name = "m", Version = identity.Version.ToString(), State = "READY" });
        return Task.FromResult(response);
    }

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ModelConfigResponse> ModelConfig(ModelConfigRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelConfigResponse { Config = new global::Inference.ModelConfig { Name = request.Name, Backend = identity.Name } });

    public override async Task ModelStreamInfer(IAsyncStreamReader<ModelInferRequest> requestStream,
        IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context)
    {
        var stream = Guid.NewGuid().ToString("N");
        var resolved = context.RequestHeaders.GetValue("x-maas-resolved-version") ?? "";
        var written = new ConcurrentDictionary<string, TaskCompletionSource>();
        TaskCompletionSource Written(string id) => written.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var writeLock = new SemaphoreSlim(1);
        var running = new List<Task>();
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            running.Add(Task.Run(async () =>
            {
                if (request.Parameters.TryGetValue("wait_for", out var waitFor))
                {
                    await Written(waitFor.StringParam).Task.WaitAsync(context.CancellationToken);
                }
                var response = new ModelInferResponse { ModelName = request.ModelName, ModelVersion = request.ModelVersion, Id = request.Id };
                response.Parameters["replica"] = new InferParameter { StringParam = identity.Name };
                response.Parameters["resolved_version"] = new InferParameter { StringParam = resolved };
                response.Parameters["stream"] = new InferParameter { StringParam = stream };
                await writeLock.WaitAsync(context.CancellationToken);
                try
                {
                    await responseStream.WriteAsync(new ModelStreamInferResponse { InferResponse = response });
                }
                finally
                {
                    writeLock.Release();
                }
                Written(request.Id).TrySetResult();
            }));
        }
        await Task.WhenAll(running);
    }
}
