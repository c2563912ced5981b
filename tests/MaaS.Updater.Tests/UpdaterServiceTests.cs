using Grpc.Core;
using Grpc.Net.Client;
using MaaS.Updater.V1;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MaaS.Updater.Tests;

public sealed class UpdaterServiceTests : IDisposable
{
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "maas-updater-tests-" + Guid.NewGuid().ToString("N"));
    private readonly WebApplicationFactory<Program> factory;
    private readonly UpdaterService.UpdaterServiceClient client;

    public UpdaterServiceTests()
    {
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Bus:Transport", "InMemory");
            b.UseSetting("Mesh:GrpcPort", "1");
            b.UseSetting("Mesh:DataDirectory", dataDirectory);
            // Nothing listens there: calls that need the registry fail as Unavailable.
            b.UseSetting("Services:Registry", "http://127.0.0.1:9");
        });
        var channel = GrpcChannel.ForAddress(factory.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = factory.Server.CreateHandler() });
        client = new UpdaterService.UpdaterServiceClient(channel);
    }

    [Fact]
    public async Task GetPolicy_NoPolicySet_ReturnsDefaults()
    {
        var policy = (await client.GetPolicyAsync(new GetPolicyRequest { ModelName = "m" })).Policy;

        Assert.Equal(100, policy.RetrainAfterRows);
        Assert.Equal(0.2, policy.HoldoutFraction);
    }

    [Fact]
    public async Task SetPolicy_ThenGet_ReturnsStoredPolicy()
    {
        await client.SetPolicyAsync(new SetPolicyRequest { Policy = new Policy { ModelName = "m", RetrainAfterRows = 30, HoldoutFraction = 0.25, MinImprovement = 0.01 } });

        var policy = (await client.GetPolicyAsync(new GetPolicyRequest { ModelName = "m" })).Policy;

        Assert.Equal((30L, 0.25, 0.01), (policy.RetrainAfterRows, policy.HoldoutFraction, policy.MinImprovement));
    }

    [Theory]
    [InlineData("Bad Name", 10, 0.2, 0, "policy.model_name")]
    [InlineData("a..b", 10, 0.2, 0, "policy.model_name")]
    [InlineData("m", 1, 0.2, 0, "policy.retrain_after_rows")]
    [InlineData("m", 10, 0.9, 0, "policy.holdout_fraction")]
    [InlineData("m", 10, 0.2, -1, "policy.min_improvement")]
    public async Task SetPolicy_BrokenRule_InvalidArgumentNamingField(string model, long rows, double holdout, double margin, string field)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.SetPolicyAsync(new SetPolicyRequest
        {
            Policy = new Policy { ModelName = model, RetrainAfterRows = rows, HoldoutFraction = holdout, MinImprovement = margin },
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(field, ex.Status.Detail);
    }

    [Fact]
    public async Task IngestRows_NoRows_InvalidArgument()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.IngestRowsAsync(new IngestRowsRequest { ModelName = "m", Columns = { "x", "y" } }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("rows", ex.Status.Detail);
    }

    [Fact]
    public async Task GetUpdateStatus_UnknownModel_NothingPending()
    {
        var status = await client.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = "nobody" });

        Assert.Equal(0, status.RowsSinceTraining);
        Assert.False(status.Retraining);
        Assert.Empty(status.Decisions);
    }

    public void Dispose()
    {
        factory.Dispose();
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
    }
}
