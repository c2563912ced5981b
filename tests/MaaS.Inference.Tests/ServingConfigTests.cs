using Inference;
using MaaS.Inference.Runtime;
using MaaS.Testing;
using Microsoft.Extensions.Configuration;

namespace MaaS.Inference.Tests;

/// <summary>Per-model serving settings from configuration: parsing, start-up failures naming the key, and the version policies at work.</summary>
public sealed class ServingConfigTests : IAsyncLifetime
{
    private readonly FakeRegistry registry = new();
    private InferenceHost? host;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }
        await registry.DisposeAsync();
    }

    public static TheoryData<string, string> ValidPolicies => new()
    {
        { "latest:2", "latest:2" },
        { " LATEST:5 ", "latest:5" },
        { "specific:3,1,3", "specific:1,3" },
        { "all", "all" },
    };

    [Theory]
    [MemberData(nameof(ValidPolicies))]
    public void ParsePolicy_ValidText_Policy(string text, string expected)
    {
        var errors = new List<string>();

        var policy = ServingConfigParser.ParsePolicy(text, "Inference:Models:m:VersionPolicy", errors);

        Assert.Empty(errors);
        Assert.Equal(expected, policy!.ToString());
    }

    [Theory]
    [InlineData("latest:0")]
    [InlineData("latest:65")]
    [InlineData("latest:x")]
    [InlineData("latest")]
    [InlineData("specific:")]
    [InlineData("specific:1,-2")]
    [InlineData("newest:2")]
    public void ParsePolicy_InvalidText_ErrorNamingTheKey(string text)
    {
        var errors = new List<string>();

        var policy = ServingConfigParser.ParsePolicy(text, "Inference:Models:m:VersionPolicy", errors);

        Assert.Null(policy);
        Assert.Contains("Inference:Models:m:VersionPolicy must be latest:N", Assert.Single(errors));
    }

    [Fact]
    public void FromConfiguration_EveryKey_ModelServingConfig()
    {
        var section = Configuration(new()
        {
            ["Inference:Models:fast:VersionPolicy"] = "specific:1,3",
            ["Inference:Models:fast:MaxBatchSize"] = "32",
            ["Inference:Models:fast:PreferredBatchSizes"] = "8,16",
            ["Inference:Models:fast:MaxQueueDelayMicroseconds"] = "250",
            ["Inference:Models:fast:MaxQueueSize"] = "100",
            ["Inference:Models:fast:Instances"] = "3",
            ["Inference:Models:listed:PreferredBatchSizes:0"] = "4",
            ["Inference:Models:listed:MaxBatchSize"] = "4",
            ["Inference:Models:plain:VersionPolicy"] = "all",
        });
        var errors = new List<string>();

        var configs = ServingConfigParser.FromConfiguration(section, 3, errors);

        Assert.Empty(errors);
        Assert.Equal(new ModelServingConfig(VersionPolicy.Only([1, 3]), new BatchingSettings(32, [8, 16], TimeSpan.FromMicroseconds(250), 100) { Instances = 3 }), configs["fast"]);
        Assert.Equal(new BatchingSettings(4, [4], TimeSpan.Zero, BatchingSettings.DefaultMaxQueueSize), configs["listed"].Batching);
        Assert.Equal(new ModelServingConfig(VersionPolicy.Every, BatchingSettings.Off), configs["plain"]);
    }

    [Theory]
    [InlineData("MaxBatchSize", "lots", "Inference:Models:m:MaxBatchSize must be an integer")]
    [InlineData("MaxBatchSize", "100000", "Inference:Models:m:MaxBatchSize must be an integer from 0 to 65536")]
    [InlineData("MaxQueueDelayMicroseconds", "-5", "Inference:Models:m:MaxQueueDelayMicroseconds")]
    [InlineData("MaxQueueSize", "0", "Inference:Models:m:MaxQueueSize")]
    [InlineData("PreferredBatchSizes", "8,x", "Inference:Models:m:PreferredBatchSizes must list positive batch sizes")]
    [InlineData("PreferredBatchSizes", "64", "Inference:Models:m:PreferredBatchSizes holds 64, above the max batch size 16")]
    [InlineData("MaxBatchSise", "16", "Inference:Models:m:MaxBatchSise is not a model setting")]
    [InlineData("Instances", "0", "Inference:Models:m:Instances")]
    public void FromConfiguration_BadValue_ErrorNamingTheKey(string key, string value, string fragment)
    {
        var settings = new Dictionary<string, string?> { ["Inference:Models:m:MaxBatchSize"] = "16", [$"Inference:Models:m:{key}"] = value };
        var errors = new List<string>();

        var configs = ServingConfigParser.FromConfiguration(Configuration(settings), 3, errors);

        Assert.Contains(errors, e => e.Contains(fragment, StringComparison.Ordinal));
        Assert.False(configs.ContainsKey("m") && key != "MaxBatchSise");
    }

    [Theory]
    [InlineData("""[{"count": 3}]""", 3)]
    [InlineData("""[{"count": 2, "kind": "KIND_CPU"}, {}]""", 3)]
    public void FromTritonJson_InstanceGroup_SetsConcurrentBatches(string groups, int expected)
    {
        var json = $$"""{"max_batch_size": 8, "dynamic_batching": {}, "instance_group": {{groups}}}""";

        var config = ServingConfigParser.FromTritonJson(json, "m", new ModelServingConfig(VersionPolicy.LatestN(1), BatchingSettings.Off));

        Assert.Equal(expected, config.Batching.Instances);
    }

    [Fact]
    public void FromTritonJson_InstanceGroupCountZero_InvalidArgumentNamingTheField()
    {
        var ex = Assert.Throws<Grpc.Core.RpcException>(() => ServingConfigParser.FromTritonJson(
            """{"max_batch_size": 8, "dynamic_batching": {}, "instance_group": [{"count": 0}]}""", "m",
            new ModelServingConfig(VersionPolicy.LatestN(1), BatchingSettings.Off)));

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("config.instance_group.count", ex.Status.Detail);
    }

    [Fact]
    public async Task Start_BadModelSetting_StopsWithMessageNamingTheKey()
    {
        var output = await StartupRefusal.RunAsync("services/MaaS.Inference", new Dictionary<string, string>
        {
            ["OnnxRuntime:PreferCuda"] = "false",
            ["Inference:Models:broken:VersionPolicy"] = "newest:2",
        });

        Assert.Contains("Inference:Models:broken:VersionPolicy", output);
    }

    [Fact]
    public async Task Sync_SpecificPolicy_HoldsExactlyThoseVersionsPlusProduction()
    {
        for (var v = 1; v <= 5; v++)
        {
            registry.AddVersion("lin", v, TestModels.Linear(2, v));
        }
        registry.SetAlias("lin", "production", 2);

        await StartAsync(new() { ["Inference:Models:lin:VersionPolicy"] = "specific:1,3" });

        Assert.Equal(["lin/1", "lin/2", "lin/3"], (await host!.IndexAsync(readyOnly: true)).Keys.Order());
    }

    [Fact]
    public async Task Sync_AllAndLatestPolicies_HoldEveryOrNewestVersions()
    {
        for (var v = 1; v <= 4; v++)
        {
            registry.AddVersion("every", v, TestModels.Linear(2, v));
            registry.AddVersion("newest", v, TestModels.Linear(2, v));
        }

        await StartAsync(new()
        {
            ["Inference:Models:every:VersionPolicy"] = "all",
            ["Inference:Models:newest:VersionPolicy"] = "latest:1",
            ["Inference:MaxVersionsPerModel"] = "2",
        });

        var ready = (await host!.IndexAsync(readyOnly: true)).Keys.Order().ToList();
        Assert.Equal(["every/1", "every/2", "every/3", "every/4", "newest/4"], ready);
    }

    [Fact]
    public async Task Sync_BatchingConfigured_VersionsLoadWithIt()
    {
        registry.AddVersion("lin", 1, TestModels.Linear());

        await StartAsync(new() { ["Inference:Models:lin:MaxBatchSize"] = "8", ["Inference:Models:lin:MaxQueueDelayMicroseconds"] = "100" });

        var metadata = await host!.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "lin" });
        Assert.Equal(("on", "8", "100"), (metadata.Properties["dynamic_batching"], metadata.Properties["max_batch_size"], metadata.Properties["max_queue_delay_microseconds"]));
    }

    private async Task StartAsync(Dictionary<string, string> settings)
    {
        settings["Inference:ResyncSeconds"] = "3600";
        host = new InferenceHost(await registry.StartAsync(), settings);
        await InferenceHost.EventuallyAsync(async () => (await host.Client.ServerReadyAsync(new ServerReadyRequest())).Ready, "the first sync");
    }

    private static IConfigurationSection Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Inference:Models");
}
