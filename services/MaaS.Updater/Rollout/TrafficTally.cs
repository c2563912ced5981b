using MaaS.Contracts;

namespace MaaS.Updater.Rollout;

/// <summary>
/// What callers of one version experienced over some windows, added up: calls, server-side failures, the
/// latency histogram (bounds of <see cref="TrafficObserved.LatencyBoundsMs"/>) and the shadow copies.
/// </summary>
public sealed class TrafficTally
{
    /// <summary>Number of latency buckets (the bounds plus the overflow bucket).</summary>
    public static readonly int BucketCount = TrafficObserved.LatencyBoundsMs.Length + 1;

    /// <summary>Calls answered.</summary>
    public long Requests { get; private set; }

    /// <summary>Calls that failed on the server's side.</summary>
    public long Errors { get; private set; }

    /// <summary>Calls per latency bucket.</summary>
    public long[] Buckets { get; } = new long[BucketCount];

    /// <summary>Shadow copies sent to the version.</summary>
    public long ShadowRequests { get; private set; }

    /// <summary>Shadow copies that failed.</summary>
    public long ShadowErrors { get; private set; }

    /// <summary>A tally from stored numbers.</summary>
    public static TrafficTally Of(long requests, long errors, IReadOnlyList<long>? buckets, long shadowRequests, long shadowErrors)
    {
        var tally = new TrafficTally();
        tally.Add(requests, errors, buckets, shadowRequests, shadowErrors);
        return tally;
    }

    /// <summary>Adds numbers; negative counts count as 0, failures as at most the calls, a histogram of another length is left out.</summary>
    public void Add(long requests, long errors, IReadOnlyList<long>? buckets, long shadowRequests, long shadowErrors)
    {
        requests = Math.Max(0, requests);
        shadowRequests = Math.Max(0, shadowRequests);
        Requests += requests;
        Errors += Math.Clamp(errors, 0, requests);
        ShadowRequests += shadowRequests;
        ShadowErrors += Math.Clamp(shadowErrors, 0, shadowRequests);
        if (buckets is not null && buckets.Count == BucketCount)
        {
            for (var i = 0; i < BucketCount; i++) Buckets[i] += Math.Max(0, buckets[i]);
        }
    }

    /// <summary>Adds another tally.</summary>
    public void Add(TrafficTally other) => Add(other.Requests, other.Errors, other.Buckets, other.ShadowRequests, other.ShadowErrors);

    /// <summary>Failed share of the calls; 0 without calls.</summary>
    public double ErrorRate => Requests == 0 ? 0 : (double)Errors / Requests;

    /// <summary>Failed share of the shadow copies; 0 without copies.</summary>
    public double ShadowErrorRate => ShadowRequests == 0 ? 0 : (double)ShadowErrors / ShadowRequests;

    /// <summary>Calls in the histogram.</summary>
    public long HistogramCount => Buckets.Sum();

    /// <summary>
    /// The <paramref name="quantile"/> latency in milliseconds, interpolated linearly inside its bucket as
    /// Prometheus' histogram_quantile does (the first bucket starts at 0; a rank in the overflow bucket
    /// reads as the highest bound). Null without calls in the histogram.
    /// </summary>
    public double? QuantileMs(double quantile)
    {
        var count = HistogramCount;
        if (count == 0) return null;
        var bounds = TrafficObserved.LatencyBoundsMs;
        var rank = quantile * count;
        long below = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            var inBucket = Buckets[i];
            if (inBucket > 0 && below + inBucket >= rank)
            {
                if (i == bounds.Length) return bounds[^1];
                var lower = i == 0 ? 0 : bounds[i - 1];
                var upper = bounds[i];
                return lower + (upper - lower) * Math.Clamp((rank - below) / inBucket, 0, 1);
            }
            below += inBucket;
        }
        return bounds[^1];
    }

    /// <summary>The p99 latency in milliseconds; null without calls.</summary>
    public double? P99Ms => QuantileMs(0.99);
}
