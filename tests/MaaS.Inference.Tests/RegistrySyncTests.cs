using Grpc.Core;
using Inference;
using MaaS.Contracts;
using MassTransit;

namespace MaaS.Inference.Tests;

/// <summary>The replica against a registry: which versions it holds, what it does on events, and when the registry is down.</summary>
public sealed class RegistrySyncTests : IAsyncLifetime
{
    private readonly FakeRegistry registry = new();
    private InferenceHost? host;

    private InferenceHost Host => host!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }
        await registry.DisposeAsync();
    }

    private async Task StartAsync(int maxVersions = 3)
    {
        var handler = await registry.StartAsync();
        host = new InferenceHost(handler, new Dictionary<string, string>
        {
            ["Inference:MaxVersionsPerModel"] = maxVersions.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Long enough that only the start and the events in the test trigger syncs.
            ["Inference:ResyncSeconds"] = "3600",
        });
        await InferenceHost.EventuallyAsync(async () => (await Host.Client.ServerReadyAsync(new ServerReadyRequest())).Ready, "the first sync");
    }

    [Fact]
    public async Task FirstSync_FiveVersionsProductionOnFirst_HoldsProductionAndNewestTwo()
    {
        for (var v = 1; v <= 5; v++)
        {
            registry.AddVersion("lin", v, TestModels.Linear(2, v));
        }
        registry.SetAlias("lin", "production", 1);

        await StartAsync(maxVersions: 2);

        var ready = await Host.IndexAsync(readyOnly: true);
        Assert.Equal(["lin/1", "lin/4", "lin/5"], ready.Keys.Order());
        var response = await Host.Client.ModelInferAsync(InferenceHost.LinearRequest("lin", "", 1f));
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal([3f], response.Outputs[0].Contents.Fp32Contents);
    }

    [Fact]
    public async Task FirstSync_DigestMismatch_VersionUnavailableOthersServe()
    {
        registry.AddVersion("lin", 1, TestModels.Linear(2, 1));
        registry.AddVersion("lin", 2, TestModels.Linear(2, 2), digest: new string('a', 64));

        await StartAsync();

        var index = await Host.IndexAsync();
        Assert.Equal("READY", index["lin/1"].State);
        Assert.Equal("UNAVAILABLE", index["lin/2"].State);
        Assert.Contains("digest mismatch", index["lin/2"].Reason);
        Assert.Equal("1", (await Host.Client.ModelInferAsync(InferenceHost.LinearRequest("lin", "", 1f))).ModelVersion);
    }

    [Fact]
    public async Task ModelVersionRegistered_NewVersionOverLimit_NewLoadedOldRetired()
    {
        registry.AddVersion("lin", 1, TestModels.Linear(2, 1));
        await StartAsync(maxVersions: 1);

        registry.AddVersion("lin", 2, TestModels.Linear(2, 2));
        await Host.Get<IBus>().Publish(new ModelVersionRegistered { ModelName = "lin", Version = 2 });

        await InferenceHost.EventuallyAsync(async () => (await Host.IndexAsync(readyOnly: true)).Keys.SequenceEqual(["lin/2"]), "v2 replaced v1");
        var index = await Host.IndexAsync();
        Assert.Equal("UNAVAILABLE", index["lin/1"].State);
        Assert.Contains("not held", index["lin/1"].Reason);
        Assert.Equal("2", (await Host.Client.ModelInferAsync(InferenceHost.LinearRequest("lin", "", 1f))).ModelVersion);
    }

    [Fact]
    public async Task AliasMoved_ProductionToOlderVersion_DefaultFollows()
    {
        registry.AddVersion("lin", 1, TestModels.Linear(2, 1));
        registry.AddVersion("lin", 2, TestModels.Linear(2, 2));
        registry.SetAlias("lin", "production", 2);
        await StartAsync();
        Assert.Equal("2", (await Host.Client.ModelInferAsync(InferenceHost.LinearRequest("lin", "", 1f))).ModelVersion);

        registry.SetAlias("lin", "production", 1);
        await Host.Get<IBus>().Publish(new AliasMoved { ModelName = "lin", Alias = "production", FromVersion = 2, ToVersion = 1 });

        await InferenceHost.EventuallyAsync(async () =>
            (await Host.Client.ModelInferAsync(InferenceHost.LinearRequest("lin", "", 1f))).ModelVersion == "1", "the default followed production");
    }

    [Fact]
    public async Task Sync_RegistryDown_LoadedVersionsKeepServing()
    {
        registry.AddVersion("lin", 1, TestModels.Linear(2, 1));
        await StartAsync();

        registry.Down = true;
        var sync = Host.Get<Runtime.RegistrySync>();
        Assert.False(await sync.SyncAllAsync(CancellationToken.None));

        var response = await Host.Client.ModelInferAsync(InferenceHost.LinearRequest("lin", "", 1f));
        Assert.Equal([3f], response.Outputs[0].Contents.Fp32Contents);
        Assert.True((await Host.Client.ServerReadyAsync(new ServerReadyRequest())).Ready);
    }

    [Fact]
    public async Task RepositoryModelLoad_UnknownAndKnownModels_NotFoundThenLoaded()
    {
        await StartAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "late" }));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("'late'", ex.Status.Detail);

        registry.AddVersion("late", 1, TestModels.Linear());
        await Host.Client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "late" });

        Assert.True((await Host.Client.ModelReadyAsync(new ModelReadyRequest { Name = "late", Version = "1" })).Ready);
    }
}
