using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Gateway.V1;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using Microsoft.AspNetCore.Builder;

namespace MaaS.Gateway.Tests.Security;

/// <summary>A replica double with m v1, the echo registry and a gateway with keys on; an infer and a train key issued by the admin key.</summary>
public sealed class SecuredGatewayFixture : IAsyncLifetime
{
    private readonly List<WebApplication> _hosts = [];

    public string Root { get; } = SecurityHosts.TempRoot();
    public GrpcChannel Channel { get; private set; } = null!;
    public HttpClient Rest { get; private set; } = null!;
    public HttpClient Metrics { get; private set; } = null!;
    public string Admin { get; private set; } = "";
    public string Infer { get; private set; } = "";
    public string Train { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var (replica, replicaOptions) = await TestHosts.StartReplicaAsync("replica-a", 1);
        var (registry, registryAddress) = await SecurityHosts.StartEchoRegistryAsync();
        var metricsPort = TestHosts.FreePort();
        var (gateway, grpcPort, httpPort) = await SecurityHosts.StartGatewayAsync(replicaOptions, registryAddress, Root, metricsPort: metricsPort);
        _hosts.AddRange([gateway, replica, registry]);

        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        Rest = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
        Metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };
        Admin = (await File.ReadAllTextAsync(Path.Combine(Root, "admin.key"))).Trim();
        Infer = await SecurityHosts.CreateKeyAsync(Channel, Admin, "fixture-infer", ["infer"]);
        Train = await SecurityHosts.CreateKeyAsync(Channel, Admin, "fixture-train", ["train"]);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        Rest.Dispose();
        Metrics.Dispose();
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
        Directory.Delete(Root, recursive: true);
    }
}

public sealed class GatewaySecurityTests(SecuredGatewayFixture fixture) : IClassFixture<SecuredGatewayFixture>
{
    private static readonly ModelInferRequest Infer = new() { ModelName = "m", ModelVersion = "1" };

    private GRPCInferenceService.GRPCInferenceServiceClient Inference => new(fixture.Channel);
    private KeyService.KeyServiceClient Keys => new(fixture.Channel);

    [Fact]
    public async Task ModelInfer_NoKey_Unauthenticated()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Inference.ModelInferAsync(Infer).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("authorization: Bearer", error.Status.Detail);
    }

    [Theory]
    [InlineData("maas_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("not-a-key")]
    public async Task ModelInfer_BadKey_Unauthenticated(string token)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Inference.ModelInferAsync(Infer, SecurityHosts.Bearer(token)).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task ModelInfer_RightIdWrongSecret_Unauthenticated()
    {
        var forged = fixture.Infer[..^4] + (fixture.Infer.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Inference.ModelInferAsync(Infer, SecurityHosts.Bearer(forged)).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task ModelInfer_InferKey_AnsweredByReplica()
    {
        var response = await Inference.ModelInferAsync(Infer, SecurityHosts.Bearer(fixture.Infer));

        Assert.Equal("replica-a", response.Parameters["replica"].StringParam);
    }

    [Fact]
    public async Task RepositoryModelLoad_InferKey_PermissionDeniedNamingAdmin()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Inference.RepositoryModelLoadAsync(
            new RepositoryModelLoadRequest { ModelName = "m" }, SecurityHosts.Bearer(fixture.Infer)).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("'admin'", error.Status.Detail);
    }

    [Fact]
    public async Task SetAlias_InferKey_PermissionDenied()
    {
        var registry = new RegistryService.RegistryServiceClient(fixture.Channel);

        var error = await Assert.ThrowsAsync<RpcException>(() => registry.SetAliasAsync(
            new SetAliasRequest { ModelName = "m", Alias = "production", Version = 1 }, SecurityHosts.Bearer(fixture.Infer)).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task GetModel_AnyKey_ForwardedWithoutTheKey()
    {
        var registry = new RegistryService.RegistryServiceClient(fixture.Channel);

        var response = await registry.GetModelAsync(new GetModelRequest { Name = "m" }, SecurityHosts.Bearer(fixture.Train));

        // The registry double echoes the authorization header it received: the gateway keeps keys to itself.
        Assert.Equal("m", response.Model.Name);
        Assert.Equal("", response.Model.Description);
    }

    [Fact]
    public async Task SubmitJob_TrainKey_PassesAuth()
    {
        var trainer = new TrainerService.TrainerServiceClient(fixture.Channel);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            trainer.SubmitJobAsync(new SubmitJobRequest(), SecurityHosts.Bearer(fixture.Train)).ResponseAsync);

        // No trainer is configured: past the key check, the forwarder reports it has no address.
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("Trainer", error.Status.Detail);
    }

    [Fact]
    public async Task SubmitJob_InferKey_PermissionDeniedNamingTrain()
    {
        var trainer = new TrainerService.TrainerServiceClient(fixture.Channel);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            trainer.SubmitJobAsync(new SubmitJobRequest(), SecurityHosts.Bearer(fixture.Infer)).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("'train'", error.Status.Detail);
    }

    [Fact]
    public async Task Health_NoKey_Open()
    {
        var health = new Grpc.Health.V1.Health.HealthClient(fixture.Channel);

        var answer = await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
        var live = await fixture.Rest.GetAsync("/v2/health/live");
        var livez = await fixture.Rest.GetAsync("/livez");

        Assert.NotEqual(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Unknown, answer.Status);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, livez.StatusCode);
    }

    [Fact]
    public async Task RestInfer_NoKey_401WithBearerChallenge()
    {
        var response = await fixture.Rest.PostAsJsonAsync("/v2/models/m/versions/1/infer", new { inputs = Array.Empty<object>() });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("authorization", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task RestInfer_InferKey_Answered()
    {
        var response = await SendRestInferAsync(fixture.Infer);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task RestInfer_TrainOnlyKey_403()
    {
        var response = await SendRestInferAsync(fixture.Train);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("'infer'", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task RestInfer_OverRateLimit_429WithRetryAfter()
    {
        var limited = await SecurityHosts.CreateKeyAsync(fixture.Channel, fixture.Admin, "rest-limited", ["infer"], requestsPerSecond: 0.01, burst: 1);

        var first = await SendRestInferAsync(limited);
        var second = await SendRestInferAsync(limited);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        Assert.InRange(second.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 100);
    }

    [Fact]
    public async Task ModelInfer_OverRateLimit_ResourceExhaustedWithPushback()
    {
        var limited = await SecurityHosts.CreateKeyAsync(fixture.Channel, fixture.Admin, "grpc-limited", ["infer"], requestsPerSecond: 0.01, burst: 2);

        await Inference.ModelInferAsync(Infer, SecurityHosts.Bearer(limited));
        await Inference.ModelInferAsync(Infer, SecurityHosts.Bearer(limited));
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Inference.ModelInferAsync(Infer, SecurityHosts.Bearer(limited)).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("retry in", error.Status.Detail);
        var pushback = long.Parse(error.Trailers.GetValue("grpc-retry-pushback-ms")!);
        Assert.InRange(pushback, 1, 100_000);
    }

    [Fact]
    public async Task CreateListRevoke_RevokedKey_Unauthenticated()
    {
        var token = await SecurityHosts.CreateKeyAsync(fixture.Channel, fixture.Admin, "to-revoke", ["infer"]);
        var listed = await Keys.ListKeysAsync(new ListKeysRequest(), SecurityHosts.Bearer(fixture.Admin));
        var key = listed.Keys.Single(k => k.Name == "to-revoke");
        await Inference.ModelInferAsync(Infer, SecurityHosts.Bearer(token));

        var revoked = await Keys.RevokeKeyAsync(new RevokeKeyRequest { Id = key.Id }, SecurityHosts.Bearer(fixture.Admin));
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Inference.ModelInferAsync(Infer, SecurityHosts.Bearer(token)).ResponseAsync);
        var active = await Keys.ListKeysAsync(new ListKeysRequest(), SecurityHosts.Bearer(fixture.Admin));
        var all = await Keys.ListKeysAsync(new ListKeysRequest { IncludeRevoked = true }, SecurityHosts.Bearer(fixture.Admin));

        Assert.Equal(["infer"], key.Scopes);
        Assert.StartsWith($"maas_{key.Id}_", token);
        Assert.DoesNotContain(token.Split('_', 3)[2], listed.ToString());
        Assert.True(revoked.Key.Revoked);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.DoesNotContain(active.Keys, k => k.Id == key.Id);
        Assert.Contains(all.Keys, k => k.Id == key.Id && k.Revoked);
    }

    [Fact]
    public async Task RevokeKey_LastAdminKey_FailedPrecondition()
    {
        var listed = await Keys.ListKeysAsync(new ListKeysRequest(), SecurityHosts.Bearer(fixture.Admin));
        var admin = listed.Keys.Single(k => k.Scopes.Contains("admin"));

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Keys.RevokeKeyAsync(new RevokeKeyRequest { Id = admin.Id }, SecurityHosts.Bearer(fixture.Admin)).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
    }

    [Theory]
    [InlineData("Bad Name", "infer", StatusCode.InvalidArgument)]
    [InlineData("ok-name", "root", StatusCode.InvalidArgument)]
    [InlineData("fixture-infer", "infer", StatusCode.AlreadyExists)]
    public async Task CreateKey_BadInput_Refused(string name, string scope, StatusCode expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            SecurityHosts.CreateKeyAsync(fixture.Channel, fixture.Admin, name, [scope]));

        Assert.Equal(expected, error.StatusCode);
    }

    [Fact]
    public async Task RevokeKey_UnknownId_NotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Keys.RevokeKeyAsync(new RevokeKeyRequest { Id = "0000000000000000" }, SecurityHosts.Bearer(fixture.Admin)).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task ListKeys_InferKey_PermissionDenied()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Keys.ListKeysAsync(new ListKeysRequest(), SecurityHosts.Bearer(fixture.Infer)).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task Database_AfterCreateKey_HoldsNoSecret()
    {
        var token = await SecurityHosts.CreateKeyAsync(fixture.Channel, fixture.Admin, "hashed", ["train"]);
        // maas_<id>_<secret>: the secret is base64url and may itself contain '_'.
        var secret = token.Split('_', 3)[2];

        // The database file and its WAL: the secret must appear in neither, in any encoding the store could use.
        foreach (var file in Directory.GetFiles(Path.Combine(fixture.Root, "data")))
        {
            var bytes = await ReadSharedAsync(file);
            var text = System.Text.Encoding.Latin1.GetString(bytes);
            Assert.DoesNotContain(secret, text);
            Assert.DoesNotContain(Convert.ToHexString(Convert.FromBase64String(ToBase64(secret))), text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Metrics_AfterRefusals_CountedByReason()
    {
        await Assert.ThrowsAsync<RpcException>(() => Inference.ModelInferAsync(Infer).ResponseAsync);
        await Assert.ThrowsAsync<RpcException>(() =>
            Keys.ListKeysAsync(new ListKeysRequest(), SecurityHosts.Bearer(fixture.Infer)).ResponseAsync);

        var text = await fixture.Metrics.GetStringAsync("/metrics");

        Assert.Contains("maas_gateway_auth_rejected_total{reason=\"missing\"}", text);
        Assert.Contains("maas_gateway_auth_rejected_total{reason=\"scope\"}", text);
    }

    private async Task<HttpResponseMessage> SendRestInferAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/m/versions/1/infer")
        {
            Content = JsonContent.Create(new { inputs = Array.Empty<object>() }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await fixture.Rest.SendAsync(request);
    }

    private static string ToBase64(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        // SQLite removes the -wal/-shm files when its last connection closes, possibly between listing and reading.
        if (!File.Exists(path))
        {
            return [];
        }
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return [];
        }
        await using var _ = stream;
        using var memory = new MemoryStream();
        await stream.CopyToAsync(memory);
        return memory.ToArray();
    }
}
