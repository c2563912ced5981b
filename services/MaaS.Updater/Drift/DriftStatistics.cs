namespace MaaS.Updater.Drift;

/// <summary>
/// The two drift statistics, per feature, between the training data (reference) and live inputs.
/// <para>
/// PSI (population stability index): the reference's deciles (type-7 quantiles at 0.1 … 0.9, equal ones
/// merged) cut the line into at most 10 bins, bin i = (edge[i-1], edge[i]] with open ends. With e_i the
/// reference's share and a_i the live share of bin i, PSI = Σ_i (a_i − e_i) · ln(a_i / e_i), where a share of
/// 0 is replaced by ε = 1e-4 so that an empty bin counts as very unlikely rather than infinitely so.
/// Same distribution → about 0; 0.1–0.25 moderate shift; above 0.25 a large one.
/// </para>
/// <para>
/// KS: the two-sample Kolmogorov–Smirnov statistic D = sup_x |F_ref(x) − F_live(x)| of the empirical
/// distribution functions, in [0, 1] (ties handled by stepping past every equal value on both sides).
/// </para>
/// </summary>
public static class DriftStatistics
{
    /// <summary>Most PSI bins (deciles).</summary>
    public const int Bins = 10;

    /// <summary>The share an empty bin counts as in PSI.</summary>
    public const double Epsilon = 1e-4;

    /// <summary>The interior PSI bin edges of a sorted reference: its deciles, equal ones merged.</summary>
    public static double[] DecileEdges(ReadOnlySpan<double> sortedReference)
    {
        if (sortedReference.IsEmpty) throw new ArgumentException("The reference has no values.", nameof(sortedReference));
        var edges = new List<double>(Bins - 1);
        for (var k = 1; k < Bins; k++)
        {
            var q = Quantile(sortedReference, k / (double)Bins);
            if (edges.Count == 0 || q > edges[^1]) edges.Add(q);
        }
        return [.. edges];
    }

    /// <summary>The share of <paramref name="values"/> in each bin the <paramref name="edges"/> cut (edges.Length + 1 bins).</summary>
    public static double[] Shares(ReadOnlySpan<double> values, double[] edges)
    {
        var counts = new double[edges.Length + 1];
        foreach (var value in values)
        {
            counts[BinOf(value, edges)]++;
        }
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] /= values.Length;
        }
        return counts;
    }

    /// <summary>PSI of live values against reference shares over <paramref name="edges"/> (see the class remarks).</summary>
    public static double Psi(double[] edges, double[] referenceShares, ReadOnlySpan<double> live)
    {
        if (live.IsEmpty) throw new ArgumentException("No live values.", nameof(live));
        var liveShares = Shares(live, edges);
        var psi = 0.0;
        for (var i = 0; i < liveShares.Length; i++)
        {
            var a = Math.Max(liveShares[i], Epsilon);
            var e = Math.Max(referenceShares[i], Epsilon);
            psi += (a - e) * Math.Log(a / e);
        }
        return psi;
    }

    /// <summary>PSI of live values against a sorted reference (deciles and shares computed here).</summary>
    public static double Psi(ReadOnlySpan<double> sortedReference, ReadOnlySpan<double> live)
    {
        var edges = DecileEdges(sortedReference);
        return Psi(edges, Shares(sortedReference, edges), live);
    }

    /// <summary>The two-sample KS statistic D of two sorted samples.</summary>
    public static double KolmogorovSmirnov(ReadOnlySpan<double> sortedReference, ReadOnlySpan<double> sortedLive)
    {
        if (sortedReference.IsEmpty || sortedLive.IsEmpty) throw new ArgumentException("Both samples need values.");
        int n = sortedReference.Length, m = sortedLive.Length, i = 0, j = 0;
        var d = 0.0;
        while (i < n && j < m)
        {
            var x = Math.Min(sortedReference[i], sortedLive[j]);
            while (i < n && sortedReference[i] <= x) i++;
            while (j < m && sortedLive[j] <= x) j++;
            d = Math.Max(d, Math.Abs((double)i / n - (double)j / m));
        }
        // Past this point one side is at 1 and the other only climbs towards it: the gap only shrinks.
        return d;
    }

    /// <summary>Type-7 quantile (linear between order statistics) of a sorted sample.</summary>
    public static double Quantile(ReadOnlySpan<double> sorted, double p)
    {
        var h = (sorted.Length - 1) * p;
        var lo = (int)Math.Floor(h);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>Bin of a value: the first edge at or above it (bins are closed on the right).</summary>
    private static int BinOf(double value, double[] edges)
    {
        int lo = 0, hi = edges.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (edges[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
