using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Inference;
using MaaS.Inference.Runtime;

namespace MaaS.Inference.Tests;

/// <summary>RepositoryModelLoad/Unload in Triton's form: config JSON, file overrides, failures that leave the old version serving.</summary>
public sealed class RepositoryLoadTests : IAsyncLifetime
{
    private const string BatchingConfig = """
        {"version_policy":{"latest":{"num_versions":2}},"max_batch_size":64,
         "dynamic_batching":{"preferred_batch_size":[16,32],"max_queue_delay_microseconds":500,"default_queue_policy":{"max_queue_size":1024}}}
        """;

    private readonly FakeRegistry registry = new();
    private InferenceHost? host;

    private InferenceHost Host => host!;

    /// <summary>Without a registry by default: a standalone replica, as a benchmark runs one.</summary>
    public Task InitializeAsync()
    {
        host = new InferenceHost();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await registry.DisposeAsync();
    }

    private async Task WithRegistryAsync()
    {
        await Host.DisposeAsync();
        host = new InferenceHost(await registry.StartAsync(), new Dictionary<string, string> { ["Inference:ResyncSeconds"] = "3600" });
        await InferenceHost.EventuallyAsync(async () => (await Host.Client.ServerReadyAsync(new ServerReadyRequest())).Ready, "the first sync");
    }

    [Fact]
    public async Task RepositoryModelLoad_FileOverrideWithoutRegistry_ServesWithProviderInMetadata()
    {
        await Host.Client.RepositoryModelLoadAsync(Load("standalone", null, (1, TestModels.Linear())));

        var response = await Host.Client.ModelInferAsync(InferenceHost.LinearRequest("standalone", "", 2f));
        var metadata = await Host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "standalone" });

        Assert.Equal(("1", 5f), (response.ModelVersion, response.Outputs[0].Contents.Fp32Contents[0]));
        Assert.Equal("CPUExecutionProvider", metadata.Properties["execution_provider"]);
        Assert.Equal("off", metadata.Properties["dynamic_batching"]);
        Assert.Equal("0", metadata.Properties["max_batch_size"]);
    }

    [Fact]
    public async Task RepositoryModelLoad_ConfigWithDynamicBatching_AppliedToTheLoadedVersion()
    {
        await Host.Client.RepositoryModelLoadAsync(Load("batched", BatchingConfig, (1, TestModels.Linear())));

        var metadata = await Host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "batched" });
        var batching = Host.Repository.Find("batched", 1)!.Loaded!.Batching;

        Assert.Equal("on", metadata.Properties["dynamic_batching"]);
        Assert.Equal("64", metadata.Properties["max_batch_size"]);
        Assert.Equal("500", metadata.Properties["max_queue_delay_microseconds"]);
        Assert.Equal("16,32", metadata.Properties["preferred_batch_size"]);
        Assert.Equal(new BatchingSettings(64, [16, 32], TimeSpan.FromMicroseconds(500), 1024), batching);
        Assert.Equal(VersionPolicy.LatestN(2), Host.Repository.ConfigFor("batched").VersionPolicy);
    }

    public static TheoryData<string, string> BadConfigs => new()
    {
        { "{not json", "'config' is not valid JSON" },
        { "[1,2]", "config must be a JSON object" },
        { """{"max_batch_size":"many"}""", "config.max_batch_size must be an integer" },
        { """{"version_policy":{"latest":{"num_versions":0}}}""", "config.version_policy.latest.num_versions" },
        { """{"version_policy":{"newest":{}}}""", "config.version_policy.newest" },
        { """{"version_policy":{"specific":{"versions":[1,-3]}}}""", "config.version_policy.specific.versions" },
        { """{"dynamic_batching":{}}""", "config.max_batch_size must be at least 1" },
        { """{"max_batch_size":8,"dynamic_batching":{"preferred_batch_size":[16]}}""", "config.dynamic_batching.preferred_batch_size holds 16" },
        { """{"max_batch_size":8,"dynamic_batching":{"max_queue_delay_microseconds":-1}}""", "config.dynamic_batching.max_queue_delay_microseconds" },
        { """{"max_batch_size":8,"dynamic_batching":{"default_queue_policy":{"max_queue_size":"x"}}}""", "config.dynamic_batching.default_queue_policy.max_queue_size" },
        { """{"max_batchsize":8}""", "config.max_batchsize is not a model configuration field" },
        { """{"name":"someone-else"}""", "config.name" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public async Task RepositoryModelLoad_BadConfig_InvalidArgumentNamingTheField(string config, string fragment)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.RepositoryModelLoadAsync(Load("bad", config, (1, TestModels.Linear()))));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(fragment, ex.Status.Detail);
        Assert.False((await Host.Client.ModelReadyAsync(new ModelReadyRequest { Name = "bad" })).Ready);
    }

    [Theory]
    [InlineData("colour", "string", "'colour' is not taken")]
    [InlineData("file:one/model.onnx", "bytes", "file:<version>/model.onnx")]
    [InlineData("file:1/weights.bin", "bytes", "file:<version>/model.onnx")]
    [InlineData("config", "bytes", "'config' must be a string_param")]
    [InlineData("file:1/model.onnx", "string", "must be a bytes_param")]
    public async Task RepositoryModelLoad_BadParameter_InvalidArgumentNamingIt(string name, string kind, string fragment)
    {
        var request = new RepositoryModelLoadRequest { ModelName = "bad" };
        request.Parameters[name] = kind == "bytes"
            ? new ModelRepositoryParameter { BytesParam = ByteString.CopyFrom(TestModels.Linear()) }
            : new ModelRepositoryParameter { StringParam = "{}" };

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.RepositoryModelLoadAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(fragment, ex.Status.Detail);
    }

    public static TheoryData<string> BrokenArtifacts => new() { "corrupt", "unknown operator" };

    [Theory]
    [MemberData(nameof(BrokenArtifacts))]
    public async Task RepositoryModelLoad_BrokenV2WhileV1Serves_V1KeepsServingV2UnavailableWithReason(string broken)
    {
        await Host.Client.RepositoryModelLoadAsync(Load("steady", null, (1, TestModels.Linear())));
        var bytes = broken == "corrupt" ? TestModels.Corrupt() : TestModels.UnknownOperator();

        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.RepositoryModelLoadAsync(Load("steady", null, [(1, TestModels.Linear()), (2, bytes)])));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("file:2/model.onnx", ex.Status.Detail);
        var index = await Host.IndexAsync();
        Assert.Equal("READY", index["steady/1"].State);
        Assert.Equal("UNAVAILABLE", index["steady/2"].State);
        Assert.Contains("cannot be served", index["steady/2"].Reason);
        Assert.False((await Host.Client.ModelReadyAsync(new ModelReadyRequest { Name = "steady", Version = "2" })).Ready);
        Assert.Equal("1", (await Host.Client.ModelInferAsync(InferenceHost.LinearRequest("steady", "", 1f))).ModelVersion);
    }

    [Fact]
    public async Task RepositoryModelLoad_NewFileVersion_OldRetiredOnceNewIsReady()
    {
        await Host.Client.RepositoryModelLoadAsync(Load("moving", null, (1, TestModels.Linear(2, 1))));
        var v1 = Host.Repository.Find("moving", 1)!.Loaded!;

        await Host.Client.RepositoryModelLoadAsync(Load("moving", null, (2, TestModels.Linear(2, 2))));

        var response = await Host.Client.ModelInferAsync(InferenceHost.LinearRequest("moving", "", 1f));
        Assert.Equal(("2", 4f), (response.ModelVersion, response.Outputs[0].Contents.Fp32Contents[0]));
        Assert.Equal(["moving/2"], (await Host.IndexAsync()).Keys.Where(k => k.StartsWith("moving/", StringComparison.Ordinal)));
        await v1.Drained.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ModelReady_DuringLoadOfV2_FalseForV2WhileLoadingTrueOnceReady()
    {
        await Host.Client.RepositoryModelLoadAsync(Load("watched", null, (1, TestModels.Linear())));
        var seen = new List<(VersionState State, bool V2Ready, bool ModelReady)>();
        void Record(VersionEntry e)
        {
            if (e is { Model: "watched", Version: 2 })
            {
                // What ModelReady answers at the very moment of each transition.
                seen.Add((e.State, Host.Repository.Resolve("watched", "2", null).Entry is not null,
                    Host.Repository.Resolve("watched", null, null).Entry is not null));
            }
        }
        Host.Repository.StateChanged += Record;
        try
        {
            await Host.Client.RepositoryModelLoadAsync(Load("watched", null, [(1, TestModels.Linear()), (2, TestModels.Linear(3, 0))]));
        }
        finally
        {
            Host.Repository.StateChanged -= Record;
        }

        Assert.Equal([(VersionState.Loading, false, true), (VersionState.Ready, true, true)], seen);
    }

    [Fact]
    public async Task RepositoryModelUnload_FileLoadedModel_NotServedAnymore()
    {
        await Host.Client.RepositoryModelLoadAsync(Load("brief", null, (1, TestModels.Linear())));

        await Host.Client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "brief" });

        Assert.False((await Host.Client.ModelReadyAsync(new ModelReadyRequest { Name = "brief" })).Ready);
        Assert.Contains("unloaded", (await Host.IndexAsync())["brief/1"].Reason);
        Assert.False(Host.Repository.Models["brief"].Local);
    }

    [Fact]
    public async Task Rest_LoadWithConfigAndBase64FileThenUnload_ReadyThenGone()
    {
        var load = await Host.Http.PostAsJsonAsync("/v2/repository/models/rested/load", new
        {
            parameters = new Dictionary<string, string>
            {
                ["config"] = BatchingConfig,
                ["file:3/model.onnx"] = Convert.ToBase64String(TestModels.Linear()),
            },
        });
        var ready = await Host.Http.GetAsync("/v2/models/rested/versions/3/ready");
        using var metadata = JsonDocument.Parse(await Host.Http.GetStringAsync("/v2/models/rested"));
        var badConfig = await Host.Http.PostAsJsonAsync("/v2/repository/models/rested/load",
            new { parameters = new { config = """{"max_batch_size":-1}""" } });
        var unload = await Host.Http.PostAsync("/v2/repository/models/rested/unload", null);
        var afterUnload = await Host.Http.GetAsync("/v2/models/rested/ready");

        Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("on", metadata.RootElement.GetProperty("properties").GetProperty("dynamic_batching").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, badConfig.StatusCode);
        Assert.Contains("config.max_batch_size", await badConfig.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, unload.StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, afterUnload.StatusCode);
    }

    [Fact]
    public async Task RegistrySync_FileLoadedModels_KeptUntilUnload()
    {
        registry.AddVersion("lin", 1, TestModels.Linear(2, 1));
        await WithRegistryAsync();

        await Host.Client.RepositoryModelLoadAsync(Load("mine", null, (1, TestModels.Linear())));
        await Host.Client.RepositoryModelLoadAsync(Load("lin", null, (7, TestModels.Linear(2, 7))));
        Assert.True(await Host.Get<RegistrySync>().SyncAllAsync(CancellationToken.None));

        var ready = await Host.IndexAsync(readyOnly: true);
        Assert.Equal(["lin/7", "mine/1"], ready.Keys.Order());
    }

    [Fact]
    public async Task RepositoryModelLoad_RegistryModelWithNewConfig_VersionReloadedWithBatching()
    {
        registry.AddVersion("lin", 1, TestModels.Linear(2, 1));
        await WithRegistryAsync();
        var before = Host.Repository.Find("lin", 1)!.Loaded!;

        await Host.Client.RepositoryModelLoadAsync(Load("lin", BatchingConfig));

        var metadata = await Host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "lin" });
        Assert.Equal("on", metadata.Properties["dynamic_batching"]);
        Assert.NotSame(before, Host.Repository.Find("lin", 1)!.Loaded);
        await before.Drained.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([3f], (await Host.Client.ModelInferAsync(InferenceHost.LinearRequest("lin", "", 1f))).Outputs[0].Contents.Fp32Contents);
    }

    [Fact]
    public async Task ModelInfer_ModelFailsWhileRunningValidInputs_InternalNamingModelAndVersion()
    {
        await Host.Client.RepositoryModelLoadAsync(Load("broken", null, (1, TestModels.FailsBeyondOneRow())));
        var twoRows = InferenceHost.LinearRequest("broken", "", 1f, 2f);

        var oneRow = await Host.Client.ModelInferAsync(InferenceHost.LinearRequest("broken", "", 3f));
        var error = await Assert.ThrowsAsync<RpcException>(() => Host.Client.ModelInferAsync(twoRows).ResponseAsync);

        Assert.Equal(3f, oneRow.Outputs[0].Contents.Fp32Contents[0]);
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.StartsWith("Model 'broken' version 1 failed while running:", error.Status.Detail);
    }

    private static RepositoryModelLoadRequest Load(string model, string? config = null, params (long Version, byte[] Onnx)[] files)
    {
        var request = new RepositoryModelLoadRequest { ModelName = model };
        if (config is not null)
        {
            request.Parameters["config"] = new ModelRepositoryParameter { StringParam = config };
        }
        foreach (var (version, onnx) in files)
        {
            request.Parameters[$"file:{version}/model.onnx"] = new ModelRepositoryParameter { BytesParam = ByteString.CopyFrom(onnx) };
        }
        return request;
    }
}
