using MaaS.Updater.Drift;

namespace MaaS.Updater.Tests.Drift;

public sealed class DriftStatisticsTests
{
    [Theory]
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 3, 4, 5, 6 }, 0.5)]
    [InlineData(new double[] { 1, 1, 2 }, new double[] { 1, 2, 2 }, 1.0 / 3)]
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 4, 5 }, 1.0)]
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 1, 2, 3 }, 0.0)]
    public void KolmogorovSmirnov_HandExample_ExactD(double[] reference, double[] live, double expected)
    {
        Assert.Equal(expected, DriftStatistics.KolmogorovSmirnov(reference, live), precision: 12);
    }

    [Fact]
    public void Psi_HandExample_MatchesFormulaWithEpsilon()
    {
        // Reference 1..10: the deciles put one value in each of 10 bins (shares 0.1); every live value is 1,
        // so bin 0 has share 1 and the nine others count as epsilon.
        double[] reference = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        double[] live = [1, 1, 1, 1];
        var e = DriftStatistics.Epsilon;
        var expected = (1 - 0.1) * Math.Log(1 / 0.1) + 9 * (e - 0.1) * Math.Log(e / 0.1);

        Assert.Equal(expected, DriftStatistics.Psi(reference, live), precision: 9);
    }

    [Fact]
    public void Psi_ConstantFeatureSameValues_Zero()
    {
        Assert.Equal(0, DriftStatistics.Psi([5, 5, 5, 5], [5, 5]), precision: 12);
    }

    [Fact]
    public void Psi_SameDistribution_Small()
    {
        var psi = DriftStatistics.Psi(Sorted(Normal(10_000, 0, seed: 1)), Normal(2_000, 0, seed: 2));

        Assert.InRange(psi, 0, 0.05);
    }

    [Fact]
    public void Psi_ShiftedByOneStandardDeviation_Large()
    {
        var psi = DriftStatistics.Psi(Sorted(Normal(10_000, 0, seed: 1)), Normal(2_000, 1, seed: 2));

        Assert.True(psi > 0.25, $"PSI {psi} should show a large shift.");
    }

    [Fact]
    public void KolmogorovSmirnov_SameDistribution_Small()
    {
        var d = DriftStatistics.KolmogorovSmirnov(Sorted(Normal(10_000, 0, seed: 1)), Sorted(Normal(2_000, 0, seed: 2)));

        Assert.InRange(d, 0, 0.05);
    }

    [Fact]
    public void KolmogorovSmirnov_ShiftedByOneStandardDeviation_Large()
    {
        var d = DriftStatistics.KolmogorovSmirnov(Sorted(Normal(10_000, 0, seed: 1)), Sorted(Normal(2_000, 1, seed: 2)));

        Assert.True(d > 0.3, $"D {d} should show a large shift.");
    }

    [Fact]
    public void DecileEdges_TiedReference_EqualEdgesMerged()
    {
        var edges = DriftStatistics.DecileEdges([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);

        Assert.Equal(edges.Distinct().Count(), edges.Length);
        Assert.Equal(0, edges[0]);
    }

    /// <summary>Standard normal values (Box–Muller) shifted by <paramref name="mean"/>, reproducible by seed.</summary>
    internal static double[] Normal(int count, double mean, int seed)
    {
        var random = new Random(seed);
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            var u1 = 1 - random.NextDouble();
            var u2 = random.NextDouble();
            values[i] = mean + Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        return values;
    }

    private static double[] Sorted(double[] values)
    {
        Array.Sort(values);
        return values;
    }
}
