using System.Collections.Concurrent;
using Grpc.Core;
using Inference;

namespace MaaS.Inference.Tests;

/// <summary>Which version answers, and what happens to requests while versions are swapped.</summary>
public sealed class ModelVersionsTests : IAsyncLifetime
{
    private readonly InferenceHost host = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task ModelInfer_NoVersionNoHeader_NewestReadyVersionAnswers()
    {
        await host.LoadAsync("defaults", 1, TestModels.Linear(2, 1));
        await host.LoadAsync("defaults", 2, TestModels.Linear(2, 100));

        var response = await host.Client.ModelInferAsync(InferenceHost.LinearRequest("defaults", "", 1f));

        Assert.Equal("2", response.ModelVersion);
        Assert.Equal([102f], response.Outputs[0].Contents.Fp32Contents);
    }

    [Fact]
    public async Task ModelInfer_ResolvedVersionHeader_ThatVersionAnswers()
    {
        await host.LoadAsync("defaults", 1, TestModels.Linear(2, 1));
        await host.LoadAsync("defaults", 2, TestModels.Linear(2, 100));

        var response = await host.Client.ModelInferAsync(InferenceHost.LinearRequest("defaults", "", 1f), InferenceHost.Resolved("1"));

        Assert.Equal("1", response.ModelVersion);
        Assert.Equal([3f], response.Outputs[0].Contents.Fp32Contents);
    }

    [Fact]
    public async Task ModelInfer_ProductionKnown_ProductionAnswersUnlessVersionOrGatewayHeaderSay()
    {
        await host.LoadAsync("defaults", 1, TestModels.Linear(2, 1));
        await host.LoadAsync("defaults", 2, TestModels.Linear(2, 100));
        host.Repository.SetModelState("defaults", production: 1);

        var byDefault = await host.Client.ModelInferAsync(InferenceHost.LinearRequest("defaults", "", 1f));
        var byHeader = await host.Client.ModelInferAsync(InferenceHost.LinearRequest("defaults", "", 1f), InferenceHost.Resolved("2"));
        var explicitly = await host.Client.ModelInferAsync(InferenceHost.LinearRequest("defaults", "2", 1f));
        // An alias in model_version is resolved by the gateway, which names the number in the header.
        var aliasResolved = await host.Client.ModelInferAsync(InferenceHost.LinearRequest("defaults", "staging", 1f), InferenceHost.Resolved("1"));

        Assert.Equal("1", byDefault.ModelVersion);
        Assert.Equal("2", byHeader.ModelVersion);
        Assert.Equal("2", explicitly.ModelVersion);
        Assert.Equal("1", aliasResolved.ModelVersion);
    }

    [Fact]
    public async Task ModelInfer_HeaderNamesVersionNotHere_NotFound()
    {
        await host.LoadAsync("defaults", 1, TestModels.Linear());

        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await host.Client.ModelInferAsync(InferenceHost.LinearRequest("defaults", "", 1f), InferenceHost.Resolved("7")));

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("version 7", ex.Status.Detail);
    }

    [Fact]
    public async Task Swap_LoadV2ThenRemoveV1UnderLoad_NoRequestLost()
    {
        await host.LoadAsync("swap", 1, TestModels.Linear(2, 1));
        var v1 = host.Repository.Find("swap", 1)!.Loaded!;
        var failures = new ConcurrentQueue<Exception>();
        var answers = new ConcurrentQueue<(string Version, float Value)>();
        var completed = 0;
        using var stop = new CancellationTokenSource();

        async Task CallerAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var response = await host.Client.ModelInferAsync(InferenceHost.LinearRequest("swap", "", 1f));
                    answers.Enqueue((response.ModelVersion, response.Outputs[0].Contents.Fp32Contents[0]));
                }
                catch (Exception ex)
                {
                    failures.Enqueue(ex);
                }
                Interlocked.Increment(ref completed);
            }
        }
        var callers = Enumerable.Range(0, 4).Select(_ => Task.Run(CallerAsync)).ToArray();

        await InferenceHost.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref completed) > 100), "requests ran on v1");
        await host.LoadAsync("swap", 2, TestModels.Linear(2, 2));
        Assert.True(host.Repository.Remove("swap", 1));
        var afterSwap = Volatile.Read(ref completed);
        await InferenceHost.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref completed) > afterSwap + 100), "requests ran after the swap");
        stop.Cancel();
        await Task.WhenAll(callers);

        Assert.Empty(failures);
        Assert.Contains(answers, a => a.Version == "1");
        Assert.Contains(answers, a => a.Version == "2");
        // Each answer is the answering version's own: y = 2·1 + version.
        Assert.All(answers, a => Assert.Equal(2f + float.Parse(a.Version, System.Globalization.CultureInfo.InvariantCulture), a.Value));
        // v1's session is disposed once its last request returned.
        await v1.Drained.WaitAsync(TimeSpan.FromSeconds(30));
        var index = await host.IndexAsync();
        Assert.DoesNotContain("swap/1", index.Keys);
        Assert.Equal("READY", index["swap/2"].State);
    }

    [Fact]
    public async Task RepositoryModelUnload_LoadedModel_NoLongerServed()
    {
        await host.LoadAsync("leaving", 1, TestModels.Linear());

        await host.Client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "leaving" });

        Assert.False((await host.Client.ModelReadyAsync(new ModelReadyRequest { Name = "leaving" })).Ready);
        var index = await host.IndexAsync();
        Assert.Equal("UNAVAILABLE", index["leaving/1"].State);
        Assert.Contains("unloaded", index["leaving/1"].Reason);
    }
}
