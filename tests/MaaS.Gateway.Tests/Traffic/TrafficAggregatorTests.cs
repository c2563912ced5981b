using MaaS.Contracts;
using MaaS.Gateway.Traffic;

namespace MaaS.Gateway.Tests.Traffic;

/// <summary>Counting calls per model version into windows: counts, failures, histogram buckets, shadow copies.</summary>
public sealed class TrafficAggregatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Take_CallsOfTwoVersions_OneWindowEachWithItsCounts()
    {
        var aggregator = new TrafficAggregator();
        for (var i = 0; i < 9; i++) aggregator.Record("m", 1, failed: false, latencyMs: 0.3);
        aggregator.Record("m", 1, failed: true, latencyMs: 30);
        aggregator.Record("m", 2, failed: true, latencyMs: 20_000);

        var windows = aggregator.Take(T0, TimeSpan.FromMinutes(5)).OrderBy(w => w.Version).ToList();

        Assert.Equal(2, windows.Count);
        var v1 = windows[0];
        Assert.Equal(("m", 1L, 10L, 1L), (v1.Model, v1.Version, v1.Requests, v1.Errors));
        Assert.Equal(TrafficObserved.LatencyBoundsMs.Length + 1, v1.LatencyBuckets.Length);
        Assert.Equal(9, v1.LatencyBuckets[1]);
        Assert.Equal(1, v1.LatencyBuckets[7]);
        Assert.Equal(10, v1.LatencyBuckets.Sum());
        Assert.Equal(1, windows[1].LatencyBuckets[^1]);
    }

    [Fact]
    public void Take_Twice_SecondWindowHoldsOnlyNewCallsAndStartsWhereFirstEnded()
    {
        var aggregator = new TrafficAggregator();
        aggregator.Record("m", 1, false, 1);
        aggregator.Take(T0, TimeSpan.FromMinutes(5));
        aggregator.Record("m", 1, false, 1);
        aggregator.Record("m", 1, false, 1);

        var second = Assert.Single(aggregator.Take(T0.AddSeconds(1), TimeSpan.FromMinutes(5)));

        Assert.Equal(2, second.Requests);
        Assert.Equal(T0, second.WindowStart);
    }

    [Fact]
    public void Take_NoTraffic_NoWindowAndIdleVersionForgotten()
    {
        var aggregator = new TrafficAggregator();
        aggregator.Record("m", 1, false, 1);
        aggregator.Take(T0, TimeSpan.FromMinutes(5));

        Assert.Empty(aggregator.Take(T0.AddMinutes(1), TimeSpan.FromMinutes(5)));
        Assert.Equal(1, aggregator.Count);
        Assert.Empty(aggregator.Take(T0.AddMinutes(6), TimeSpan.FromMinutes(5)));
        Assert.Equal(0, aggregator.Count);
    }

    [Fact]
    public void RecordShadow_Copies_CountedApartFromCalls()
    {
        var aggregator = new TrafficAggregator();
        aggregator.RecordShadow("m", 2, failed: false);
        aggregator.RecordShadow("m", 2, failed: true);

        var window = Assert.Single(aggregator.Take(T0, TimeSpan.FromMinutes(5)));

        Assert.Equal((0L, 0L, 2L, 1L), (window.Requests, window.Errors, window.ShadowRequests, window.ShadowErrors));
    }

    [Fact]
    public void Record_ManyThreads_NoCallLost()
    {
        var aggregator = new TrafficAggregator();
        long taken = 0;
        Parallel.For(0, 8, t =>
        {
            for (var i = 0; i < 10_000; i++) aggregator.Record("m", 1, failed: i % 10 == 0, latencyMs: i % 50);
            if (t == 0) taken += aggregator.Take(T0, TimeSpan.FromMinutes(5)).Sum(w => w.Requests);
        });

        taken += aggregator.Take(T0.AddSeconds(1), TimeSpan.FromMinutes(5)).Sum(w => w.Requests);

        Assert.Equal(80_000, taken);
    }

    [Theory]
    [InlineData(true, "Internal", true)]
    [InlineData(true, "Unavailable", true)]
    [InlineData(true, "Unknown", true)]
    [InlineData(true, "DeadlineExceeded", true)]
    [InlineData(true, "DataLoss", true)]
    [InlineData(true, "OK", false)]
    [InlineData(true, "InvalidArgument", false)]
    [InlineData(true, "NotFound", false)]
    [InlineData(true, "Cancelled", false)]
    [InlineData(false, "200", false)]
    [InlineData(false, "400", false)]
    [InlineData(false, "503", true)]
    [InlineData(false, "500", true)]
    public void IsServerError_Code_ServerSideOnly(bool grpc, string code, bool expected) =>
        Assert.Equal(expected, TrafficAggregator.IsServerError(grpc, code));

    [Theory]
    [InlineData(0.1, 0)]
    [InlineData(0.25, 0)]
    [InlineData(0.26, 1)]
    [InlineData(10, 5)]
    [InlineData(10_000, 14)]
    [InlineData(10_001, 15)]
    public void BucketOf_Latency_FirstBoundNotExceeded(double latencyMs, int bucket) =>
        Assert.Equal(bucket, TrafficAggregator.BucketOf(latencyMs));
}
