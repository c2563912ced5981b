using MaaS.Contracts;
using MaaS.Updater.Drift;
using MassTransit;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Updater.Tests.Drift;

/// <summary>The consumer inside the hosted updater: InputsSampled published on the (in-memory) bus ends up in the store.</summary>
public sealed class InputsSampledConsumerTests : IDisposable
{
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "maas-updater-drift-consumer-" + Guid.NewGuid().ToString("N"));
    private readonly WebApplicationFactory<Program> factory;

    public InputsSampledConsumerTests()
    {
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Bus:Transport", "InMemory");
            b.UseSetting("Mesh:GrpcPort", "1");
            b.UseSetting("Mesh:DataDirectory", dataDirectory);
            b.UseSetting("Services:Registry", "http://127.0.0.1:9");
            b.UseSetting("Updater:Drift:MaxSamplesPerModel", "20");
        });
        _ = factory.Server;
    }

    [Fact]
    public async Task Consume_SampledRows_StoredAndPrunedToLimit()
    {
        var bus = factory.Services.GetRequiredService<IBus>();
        var store = factory.Services.GetRequiredService<DriftSampleStore>();

        await bus.Publish(new InputsSampled { ModelName = "m", Version = 1, ReplicaId = "r1", Rows = Rows(0, 15), RowsSeen = 100 });
        await bus.Publish(new InputsSampled { ModelName = "m", Version = 1, ReplicaId = "r2", Rows = Rows(15, 15), RowsSeen = 100 });

        await EventuallyAsync(() => store.Newest("m", 1) is [[29.0]]);
        Assert.Equal(20, store.Count("m"));
    }

    [Fact]
    public async Task Consume_InvalidModelName_NothingStored()
    {
        var bus = factory.Services.GetRequiredService<IBus>();
        var store = factory.Services.GetRequiredService<DriftSampleStore>();

        await bus.Publish(new InputsSampled { ModelName = "Bad Name", Version = 1, Rows = Rows(0, 3) });
        await bus.Publish(new InputsSampled { ModelName = "good", Version = 1, Rows = Rows(0, 3) });

        await EventuallyAsync(() => store.Count("good") == 3);
        Assert.Equal(0, store.Count("Bad Name"));
    }

    private static List<double[]> Rows(int first, int count) => Enumerable.Range(first, count).Select(i => new double[] { i }).ToList();

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for the consumer.");
            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        factory.Dispose();
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
    }
}
