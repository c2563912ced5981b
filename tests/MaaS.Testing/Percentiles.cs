namespace MaaS.Testing;

/// <summary>Percentiles of measured values.</summary>
public static class Percentiles
{
    /// <summary>Nearest-rank percentile <paramref name="p"/> (0–100) of ascending values; NaN when there are none.</summary>
    public static double NearestRank(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0) return double.NaN;
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
