using System.Globalization;

namespace MaaS.RegistryBenchmarks.Reporting;

/// <summary>Call latencies of one measured series, in milliseconds, with nearest-rank percentiles.</summary>
public sealed class Latencies
{
    private readonly List<double> _ms = [];
    private double[]? _sorted;

    /// <summary>Calls that failed (not in the percentiles).</summary>
    public int Errors { get; private set; }

    /// <summary>Successful calls.</summary>
    public int Count => _ms.Count;

    /// <summary>Adds one successful call.</summary>
    public void Add(double milliseconds)
    {
        lock (_ms)
        {
            _ms.Add(milliseconds);
            _sorted = null;
        }
    }

    /// <summary>Counts one failed call.</summary>
    public void Fail()
    {
        lock (_ms) Errors++;
    }

    /// <summary>Nearest-rank percentile; NaN without calls.</summary>
    public double Percentile(double p)
    {
        lock (_ms)
        {
            if (_ms.Count == 0) return double.NaN;
            _sorted ??= [.. _ms.Order()];
            return Percentiles.NearestRank(_sorted, p);
        }
    }

    /// <summary>Median.</summary>
    public double P50 => Percentile(50);

    /// <summary>90th percentile.</summary>
    public double P90 => Percentile(90);

    /// <summary>99th percentile.</summary>
    public double P99 => Percentile(99);

    /// <summary>Slowest call.</summary>
    public double Max => Percentile(100);

    /// <summary>Milliseconds with 2 decimals below 10 ms, 1 above.</summary>
    public static string Ms(double ms) =>
        double.IsNaN(ms) ? "–" : ms.ToString(ms < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);
}
