using Grpc.Core;
using MaaS.Updater.Tests.Support;
using MaaS.Updater.V1;

namespace MaaS.Updater.Tests;

public sealed class UpdaterServiceTests : IDisposable
{
    private readonly UpdaterHost host = new();

    [Fact]
    public async Task GetPolicy_NoPolicySet_ReturnsDefaults()
    {
        var policy = (await host.Client.GetPolicyAsync(new GetPolicyRequest { ModelName = "m" })).Policy;

        Assert.Equal(100, policy.RetrainAfterRows);
        Assert.Equal(0.2, policy.HoldoutFraction);
        Assert.Null(policy.Drift);
        Assert.Equal(0, policy.RetrainIntervalSeconds);
    }

    [Fact]
    public async Task SetPolicy_ThenGet_ReturnsStoredPolicy()
    {
        host.Registry.AddLinear("m", 1, 2, 1);
        await host.Client.SetPolicyAsync(new SetPolicyRequest { Policy = new Policy { ModelName = "m", RetrainAfterRows = 30, HoldoutFraction = 0.25, MinImprovement = 0.01 } });

        var policy = (await host.Client.GetPolicyAsync(new GetPolicyRequest { ModelName = "m" })).Policy;

        Assert.Equal((30L, 0.25, 0.01), (policy.RetrainAfterRows, policy.HoldoutFraction, policy.MinImprovement));
    }

    [Fact]
    public async Task IngestRows_NoRows_InvalidArgument()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Client.IngestRowsAsync(new IngestRowsRequest { ModelName = "m", Columns = { "x", "y" } }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("rows", ex.Status.Detail);
    }

    [Fact]
    public async Task GetUpdateStatus_UnknownModel_NothingPending()
    {
        var status = await host.Client.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = "nobody" });

        Assert.Equal(0, status.RowsSinceTraining);
        Assert.False(status.Retraining);
        Assert.Empty(status.Decisions);
        Assert.Null(status.Rollout);
    }

    [Fact]
    public async Task ExplainModel_BadName_InvalidArgumentNamingField()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Client.ExplainModelAsync(new ExplainModelRequest { ModelName = "A B" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("model_name", ex.Status.Detail);
    }

    public void Dispose() => host.Dispose();
}
