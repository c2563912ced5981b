using MaaS.Contracts;
using MaaS.Gateway.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Tests.Traffic;

/// <summary>Turning the counts into TrafficObserved windows, and what happens when the broker is away.</summary>
public sealed class TrafficPublisherTests
{
    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private readonly TrafficAggregator aggregator = new();
    private readonly Clock clock = new();

    private TrafficPublisher Publisher() => new(aggregator, new ServiceCollection().BuildServiceProvider(),
        Options.Create(new TrafficOptions { Source = "gw-test" }), clock, NullLogger<TrafficPublisher>.Instance);

    [Fact]
    public async Task PublishAsync_TrafficOnTwoVersions_OneEventEachWithWindowAndCounts()
    {
        var publisher = Publisher();
        aggregator.Record("m", 1, false, 0.7);
        aggregator.Record("m", 1, true, 0.7);
        aggregator.Record("m", 2, false, 3);
        var sent = new List<TrafficObserved>();

        var count = await publisher.PublishAsync((m, _) => { sent.Add(m); return Task.CompletedTask; }, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(2, count);
        var v1 = sent.Single(m => m.Version == 1);
        Assert.Equal(("m", "gw-test", 2L, 1L), (v1.ModelName, v1.Source, v1.Requests, v1.Errors));
        Assert.Equal(2, v1.LatencyBuckets[2]);
        Assert.Equal(clock.Now, v1.WindowEnd);
        Assert.True(v1.WindowStart <= v1.WindowEnd);
        Assert.Equal(1, sent.Single(m => m.Version == 2).LatencyBuckets[4]);
    }

    [Fact]
    public async Task PublishAsync_NoTraffic_NothingPublished()
    {
        var count = await Publisher().PublishAsync((_, _) => throw new InvalidOperationException("must not publish"), TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(0, count);
    }

    [Fact]
    public async Task PublishAsync_BrokerAway_WindowDroppedNextOnePublished()
    {
        var publisher = Publisher();
        aggregator.Record("m", 1, false, 1);
        var failed = await publisher.PublishAsync((_, _) => throw new InvalidOperationException("broker away"), TimeSpan.FromSeconds(1), CancellationToken.None);
        aggregator.Record("m", 1, false, 1);
        clock.Now = clock.Now.AddSeconds(1);
        var sent = new List<TrafficObserved>();

        var count = await publisher.PublishAsync((m, _) => { sent.Add(m); return Task.CompletedTask; }, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(0, failed);
        Assert.Equal(1, count);
        Assert.Equal(1, Assert.Single(sent).Requests);
    }

    [Fact]
    public async Task PublishAsync_BrokerHangs_BoundedByTimeout()
    {
        var publisher = Publisher();
        aggregator.Record("m", 1, false, 1);

        var count = await publisher.PublishAsync((_, ct) => Task.Delay(Timeout.Infinite, ct), TimeSpan.FromMilliseconds(50), CancellationToken.None);

        Assert.Equal(0, count);
    }
}
