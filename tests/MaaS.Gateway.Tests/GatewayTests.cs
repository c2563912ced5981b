using System.Net;
using System.Net.Http.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Gateway.Routing;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using MaaS.Updater.V1;
using Microsoft.AspNetCore.Builder;

namespace MaaS.Gateway.Tests;

/// <summary>
/// Two replica doubles (a: m v1, b: m v2), a registry double (production → 2, staging → 1) and the real
/// gateway on real sockets, called with the standard generated clients.
/// </summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    private readonly List<WebApplication> _hosts = [];

    public GrpcChannel Channel { get; private set; } = null!;
    public Uri GrpcAddress { get; private set; } = null!;
    public HttpClient Rest { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var (a, replicaA) = await TestHosts.StartReplicaAsync("replica-a", 1);
        var (b, replicaB) = await TestHosts.StartReplicaAsync("replica-b", 2);
        var (registry, registryAddress) = await TestHosts.StartRegistryAsync();
        var (gateway, grpcPort, httpPort) = await TestHosts.StartGatewayAsync([replicaA, replicaB], registryAddress, pollIntervalMs: 100);
        _hosts.AddRange([gateway, a, b, registry]);

        await TestHosts.WaitUntilAsync(gateway, t =>
            t.Resolve("m", "1").Outcome == RouteOutcome.Found && t.Resolve("m", "2").Outcome == RouteOutcome.Found
            && t.Resolve("m", "staging").Outcome == RouteOutcome.Found);

        GrpcAddress = new Uri($"http://127.0.0.1:{grpcPort}");
        Channel = GrpcChannel.ForAddress(GrpcAddress);
        Rest = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        Rest.Dispose();
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
    }
}

public sealed class GatewayTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private GRPCInferenceService.GRPCInferenceServiceClient Inference => new(fixture.Channel);

    [Theory]
    [InlineData("1", "replica-a")]
    [InlineData("2", "replica-b")]
    public async Task ModelInfer_PinnedVersion_ReachesTheReplicaWithThatVersion(string version, string replica)
    {
        var response = await Inference.ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = version, Id = "r1" });

        Assert.Equal(replica, response.Parameters["replica"].StringParam);
        Assert.Equal("", response.Parameters["resolved_version"].StringParam);
        Assert.Equal("r1", response.Id);
    }

    [Fact]
    public async Task ModelInfer_EmptyVersion_FollowsProductionAndTellsTheReplica()
    {
        var response = await Inference.ModelInferAsync(new ModelInferRequest { ModelName = "m" });

        Assert.Equal("replica-b", response.Parameters["replica"].StringParam);
        Assert.Equal("2", response.Parameters["resolved_version"].StringParam);
        Assert.Equal("2", response.ModelVersion);
    }

    [Fact]
    public async Task ModelInfer_Alias_ResolvesThroughTheRegistry()
    {
        var response = await Inference.ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = "staging" });

        Assert.Equal("replica-a", response.Parameters["replica"].StringParam);
        Assert.Equal("1", response.Parameters["resolved_version"].StringParam);
    }

    [Fact]
    public async Task ModelInfer_LargeRawContents_ArriveUnchanged()
    {
        var request = GrpcFrameScannerTests.LargeInferRequest("m", "1");

        var response = await Inference.ModelInferAsync(request);

        Assert.Equal(1 << 20, response.Parameters["raw_bytes"].Int64Param);
        Assert.Equal(FakeReplica.Checksum(request.RawInputContents), response.Parameters["raw_checksum"].Int64Param);
    }

    [Fact]
    public async Task ModelInfer_UnknownModel_NotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Inference.ModelInferAsync(new ModelInferRequest { ModelName = "nope", ModelVersion = "1" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("model 'nope' is unknown", error.Status.Detail);
    }

    [Fact]
    public async Task ModelInfer_VersionBeyondTheRegistrysLatest_NotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Inference.ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = "9" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("model 'm' has no version 9", error.Status.Detail);
    }

    [Fact]
    public async Task ModelInfer_NoModelName_InvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Inference.ModelInferAsync(new ModelInferRequest { Id = "x" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("model_name", error.Status.Detail);
    }

    [Fact]
    public async Task ModelInfer_CompressedMessage_InvalidArgument()
    {
        var headers = new Metadata { { "grpc-internal-encoding-request", "gzip" } };

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Inference.ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = "1" }, headers).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("compressed", error.Status.Detail);
    }

    [Fact]
    public async Task ModelInfer_FrameDeclaresAMessageOverTheLimit_ResourceExhaustedFromTheGateway()
    {
        using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var header = new byte[5];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1, 4), (uint)MaaS.ServiceDefaults.MeshHostingExtensions.MaxMessageBytes + 1);
        using var content = new ByteArrayContent(header);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");

        using var response = await http.PostAsync(new Uri(fixture.GrpcAddress, "/inference.GRPCInferenceService/ModelInfer"), content);
        var status = response.Headers.TryGetValues("grpc-status", out var values) ? values.Single()
            : response.TrailingHeaders.TryGetValues("grpc-status", out var trailers) ? trailers.Single() : "";

        Assert.Equal(((int)StatusCode.ResourceExhausted).ToString(System.Globalization.CultureInfo.InvariantCulture), status);
    }

    [Fact]
    public async Task ModelReady_PinnedVersion_Answers()
    {
        var response = await Inference.ModelReadyAsync(new ModelReadyRequest { Name = "m", Version = "2" });

        Assert.True(response.Ready);
    }

    [Fact]
    public async Task ServerLive_GoesToALiveReplica()
    {
        var response = await Inference.ServerLiveAsync(new ServerLiveRequest());

        Assert.True(response.Live);
    }

    [Fact]
    public async Task RegistryGetModel_IsForwardedToTheRegistry()
    {
        var registry = new RegistryService.RegistryServiceClient(fixture.Channel);

        var response = await registry.GetModelAsync(new GetModelRequest { Name = "m" });
        var error = await Assert.ThrowsAsync<RpcException>(() => registry.GetModelAsync(new GetModelRequest { Name = "x" }).ResponseAsync);

        Assert.Equal(2, response.Model.Aliases["production"]);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task RegistryStreams_ClientAndServerStreamingPassThrough()
    {
        var registry = new RegistryService.RegistryServiceClient(fixture.Channel);

        using var upload = registry.UploadDataset();
        await upload.RequestStream.WriteAsync(new UploadDatasetRequest { Manifest = new DatasetManifest { Name = "d", Format = "csv" } });
        for (var i = 0; i < 3; i++)
        {
            await upload.RequestStream.WriteAsync(new UploadDatasetRequest { Chunk = ByteString.CopyFrom(new byte[700]) });
        }
        await upload.RequestStream.CompleteAsync();
        var uploaded = await upload;

        using var download = registry.DownloadDataset(new DownloadDatasetRequest { Name = "d" });
        var messages = new List<DownloadDatasetResponse>();
        await foreach (var message in download.ResponseStream.ReadAllAsync())
        {
            messages.Add(message);
        }

        Assert.Equal(2100, uploaded.Dataset.Size);
        Assert.Equal(6, messages.Count);
        Assert.Equal("d", messages[0].Dataset.Name);
    }

    [Fact]
    public async Task TrainerCall_WithoutTrainerAddress_Unavailable()
    {
        var trainer = new TrainerService.TrainerServiceClient(fixture.Channel);

        var error = await Assert.ThrowsAsync<RpcException>(() => trainer.GetJobAsync(new GetJobRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("Services:Trainer", error.Status.Detail);
    }

    [Fact]
    public async Task UpdaterCall_ServiceDown_Unavailable()
    {
        var updater = new UpdaterService.UpdaterServiceClient(fixture.Channel);

        var error = await Assert.ThrowsAsync<RpcException>(() => updater.GetPolicyAsync(new GetPolicyRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("Updater", error.Status.Detail);
    }

    [Fact]
    public async Task UnknownService_Unimplemented()
    {
        var method = new Method<ServerLiveRequest, ServerLiveResponse>(MethodType.Unary, "nope.NoService", "Call",
            Marshallers.Create(r => r.ToByteArray(), ServerLiveRequest.Parser.ParseFrom),
            Marshallers.Create(r => r.ToByteArray(), ServerLiveResponse.Parser.ParseFrom));

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(), new ServerLiveRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public async Task RestInfer_EmptyVersion_GoesToProductionWithThePinnedPath()
    {
        var response = await fixture.Rest.PostAsJsonAsync("/v2/models/m/infer", new { inputs = Array.Empty<object>() });
        var answer = await response.Content.ReadFromJsonAsync<TestHosts.RestAnswer>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new TestHosts.RestAnswer("replica-b", "m", "2", "2"), answer);
    }

    [Fact]
    public async Task RestInfer_PinnedVersion_ReachesThatReplica()
    {
        var response = await fixture.Rest.PostAsJsonAsync("/v2/models/m/versions/1/infer", new { inputs = Array.Empty<object>() });
        var answer = await response.Content.ReadFromJsonAsync<TestHosts.RestAnswer>();

        Assert.Equal(new TestHosts.RestAnswer("replica-a", "m", "1", ""), answer);
    }

    [Fact]
    public async Task RestModelReady_UnknownModel_404WithJsonError()
    {
        var response = await fixture.Rest.GetAsync("/v2/models/nope/ready");
        var body = await response.Content.ReadFromJsonAsync<Dictionary<string, string>>();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("model 'nope' is unknown", body!["error"]);
    }

    [Fact]
    public async Task RestHealth_ReplicasReady_LiveAndReady()
    {
        var live = await fixture.Rest.GetAsync("/v2/health/live");
        var ready = await fixture.Rest.GetAsync("/v2/health/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }
}

public sealed class GatewayRetryTests
{
    [Fact]
    public async Task ModelInfer_ReplicaDiedSinceLastPoll_RetriedOnAnotherReplica()
    {
        var (a, replicaA) = await TestHosts.StartReplicaAsync("replica-a", 1);
        var (b, replicaB) = await TestHosts.StartReplicaAsync("replica-b", 1);
        // A long poll interval: the gateway still believes in replica a after it stops.
        var (gateway, grpcPort, _) = await TestHosts.StartGatewayAsync([replicaA, replicaB], registry: null, pollIntervalMs: 600_000);
        try
        {
            await TestHosts.WaitUntilAsync(gateway, t => t.Resolve("m", "1").Destinations.Count == 2);
            await a.StopAsync();
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
            var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

            var answeredBy = new List<string>();
            for (var i = 0; i < 4; i++)
            {
                var response = await client.ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = "1" });
                answeredBy.Add(response.Parameters["replica"].StringParam);
            }

            Assert.Equal(["replica-b"], answeredBy.Distinct());
        }
        finally
        {
            await gateway.StopAsync();
            await b.StopAsync();
            await gateway.DisposeAsync();
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }
}
