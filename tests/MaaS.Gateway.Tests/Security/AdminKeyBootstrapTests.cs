using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Gateway.V1;
using MaaS.Registry.V1;
using Microsoft.AspNetCore.Builder;

namespace MaaS.Gateway.Tests.Security;

/// <summary>The admin key made at first start, kept on later ones; and OpenInference. Each test owns its gateways.</summary>
public sealed class AdminKeyBootstrapTests : IAsyncLifetime
{
    private readonly string _root = SecurityHosts.TempRoot();
    private readonly List<WebApplication> _hosts = [];
    private ReplicaOptions _replica = null!;

    public async Task InitializeAsync()
    {
        var (replica, options) = await TestHosts.StartReplicaAsync("replica-a", 1);
        _hosts.Add(replica);
        _replica = options;
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Start_FirstTime_AdminKeyWrittenWithMode600AndWorks()
    {
        var (gateway, grpcPort, _) = await SecurityHosts.StartGatewayAsync(_replica, registry: null, _root);
        var keyFile = Path.Combine(_root, "admin.key");

        var admin = (await File.ReadAllTextAsync(keyFile)).Trim();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        var keys = await new KeyService.KeyServiceClient(channel).ListKeysAsync(new ListKeysRequest(), SecurityHosts.Bearer(admin));
        await StopAsync(gateway);

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }
        Assert.StartsWith("maas_", admin);
        Assert.Equal(["admin"], keys.Keys.Single().Scopes);
    }

    [Fact]
    public async Task Start_SecondTime_SameKeyKeptAndStillValid()
    {
        var keyFile = Path.Combine(_root, "admin.key");
        var (first, _, _) = await SecurityHosts.StartGatewayAsync(_replica, registry: null, _root);
        var written = await File.ReadAllTextAsync(keyFile);
        await StopAsync(first);

        var (second, grpcPort, _) = await SecurityHosts.StartGatewayAsync(_replica, registry: null, _root);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        var keys = await new KeyService.KeyServiceClient(channel).ListKeysAsync(new ListKeysRequest(), SecurityHosts.Bearer(written.Trim()));
        await StopAsync(second);

        Assert.Equal(written, await File.ReadAllTextAsync(keyFile));
        Assert.Single(keys.Keys);
    }

    [Fact]
    public async Task Start_DataDirectoryWiped_KeyFromFileAdopted()
    {
        var keyFile = Path.Combine(_root, "admin.key");
        var (first, _, _) = await SecurityHosts.StartGatewayAsync(_replica, registry: null, _root);
        var written = (await File.ReadAllTextAsync(keyFile)).Trim();
        await StopAsync(first);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Path.Combine(_root, "data"), recursive: true);

        var (second, grpcPort, _) = await SecurityHosts.StartGatewayAsync(_replica, registry: null, _root);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        var keys = await new KeyService.KeyServiceClient(channel).ListKeysAsync(new ListKeysRequest(), SecurityHosts.Bearer(written));
        await StopAsync(second);

        Assert.Equal(written, (await File.ReadAllTextAsync(keyFile)).Trim());
        Assert.Equal(written.Split('_')[1], keys.Keys.Single().Id);
    }

    [Fact]
    public async Task OpenInference_NoKey_InferPassesAdminStillGuarded()
    {
        var (gateway, grpcPort, _) = await SecurityHosts.StartGatewayAsync(_replica, registry: null, _root, openInference: true);
        _hosts.Insert(0, gateway);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        var inference = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var answer = await inference.ModelInferAsync(new ModelInferRequest { ModelName = "m", ModelVersion = "1" });
        var load = await Assert.ThrowsAsync<RpcException>(() =>
            inference.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "m" }).ResponseAsync);
        var alias = await Assert.ThrowsAsync<RpcException>(() => new RegistryService.RegistryServiceClient(channel)
            .SetAliasAsync(new SetAliasRequest { ModelName = "m", Alias = "production", Version = 1 }).ResponseAsync);
        var badKey = await Assert.ThrowsAsync<RpcException>(() => inference.ModelInferAsync(
            new ModelInferRequest { ModelName = "m", ModelVersion = "1" }, SecurityHosts.Bearer("maas_garbage")).ResponseAsync);

        Assert.Equal("replica-a", answer.Parameters["replica"].StringParam);
        Assert.Equal(StatusCode.Unauthenticated, load.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, alias.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, badKey.StatusCode);
    }

    [Fact]
    public async Task Start_AuthDisabled_NoKeyNeededAndNoKeyService()
    {
        var settings = SecurityHosts.AuthSettings(_root);
        settings["Gateway:Auth:Enabled"] = "false";
        var (gateway, grpcPort, _) = await TestHosts.StartGatewayAsync([_replica], registry: null, pollIntervalMs: 100, extraSettings: settings);
        _hosts.Insert(0, gateway);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            new KeyService.KeyServiceClient(channel).ListKeysAsync(new ListKeysRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        Assert.False(File.Exists(Path.Combine(_root, "admin.key")));
    }

    private static async Task StopAsync(WebApplication app)
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
