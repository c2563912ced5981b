using MaaS.Updater.Rollout;
using MaaS.Updater.V1;

namespace MaaS.Updater.Tests.Rollout;

/// <summary>Adding up traffic windows and reading quantiles from the fixed-bound histogram; the verdicts built on them.</summary>
public sealed class TrafficTallyTests
{
    private static long[] Buckets(params (int Index, long Count)[] counts)
    {
        var buckets = new long[TrafficTally.BucketCount];
        foreach (var (index, count) in counts) buckets[index] = count;
        return buckets;
    }

    [Fact]
    public void P99Ms_AllInOneBucket_InterpolatedInsideIt()
    {
        // Bucket 2 is (0.5, 1] ms.
        var tally = TrafficTally.Of(100, 0, Buckets((2, 100)), 0, 0);

        Assert.InRange(tally.P99Ms!.Value, 0.98, 1.0);
    }

    [Fact]
    public void P99Ms_SlowTail_LandsInTheTailBucket()
    {
        // 98 calls in (0.25, 0.5], 2 in (50, 100].
        var tally = TrafficTally.Of(100, 0, Buckets((1, 98), (8, 2)), 0, 0);

        Assert.InRange(tally.P99Ms!.Value, 50, 100);
        Assert.InRange(tally.QuantileMs(0.5)!.Value, 0.25, 0.5);
    }

    [Fact]
    public void P99Ms_OverflowBucket_HighestBound()
    {
        var tally = TrafficTally.Of(10, 0, Buckets((TrafficTally.BucketCount - 1, 10)), 0, 0);

        Assert.Equal(10000, tally.P99Ms);
    }

    [Fact]
    public void Add_WrongHistogramLengthAndTooManyErrors_CountsKeptAndClamped()
    {
        var tally = new TrafficTally();
        tally.Add(10, 50, [1, 2, 3], 4, 9);

        Assert.Equal((10L, 10L, 4L, 4L), (tally.Requests, tally.Errors, tally.ShadowRequests, tally.ShadowErrors));
        Assert.Null(tally.P99Ms);
    }

    [Fact]
    public void Judge_ShadowPhase_UsesShadowCopies()
    {
        var plan = new RolloutPlan { CanarySteps = { 100 }, MaxErrorRateIncrease = 0.1 };
        var champion = TrafficTally.Of(100, 1, Buckets((1, 100)), 0, 0);
        var challenger = TrafficTally.Of(0, 0, null, 20, 10);

        var verdict = RolloutChecks.Judge(plan, shadow: true, champion, champion, challenger);

        Assert.Equal(VerdictKind.Failed, verdict.Kind);
        Assert.Contains("shadow copies", verdict.Reason);
    }

    [Fact]
    public void Judge_ChampionWithoutTrafficInStep_RolloutBaseline()
    {
        var plan = new RolloutPlan { CanarySteps = { 100 }, MaxP99Ratio = 2, MinRequests = 5 };
        var championRollout = TrafficTally.Of(100, 0, Buckets((2, 100)), 0, 0);
        var challenger = TrafficTally.Of(50, 0, Buckets((9, 50)), 0, 0);

        var verdict = RolloutChecks.Judge(plan, shadow: false, new TrafficTally(), championRollout, challenger);

        Assert.Equal(VerdictKind.Failed, verdict.Kind);
        Assert.Equal("rollout", verdict.Details["champion_baseline"]);
    }

    [Fact]
    public void Judge_NoTrafficYet_HealthyWithoutMinimumWaitingWithIt()
    {
        var none = new TrafficTally();

        Assert.Equal(VerdictKind.Healthy, RolloutChecks.Judge(new RolloutPlan { CanarySteps = { 100 } }, false, none, none, none).Kind);
        Assert.Equal(VerdictKind.Waiting, RolloutChecks.Judge(new RolloutPlan { CanarySteps = { 100 }, MinRequests = 1 }, false, none, none, none).Kind);
    }
}
