using System.Collections.Concurrent;
using System.Globalization;
using MaaS.Contracts;

namespace MaaS.Gateway.Traffic;

/// <summary>The counts of one model version since the last window was taken.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Version">Version the calls were routed to.</param>
/// <param name="WindowStart">When the window began (the previous take, or the first call).</param>
/// <param name="Requests">Calls answered.</param>
/// <param name="Errors">Calls that failed on the server's side.</param>
/// <param name="LatencyBuckets">Calls per latency bucket (bounds of <see cref="TrafficObserved.LatencyBoundsMs"/> plus overflow).</param>
/// <param name="ShadowRequests">Shadow copies sent to the version.</param>
/// <param name="ShadowErrors">Shadow copies that failed.</param>
public sealed record TrafficWindow(string Model, long Version, DateTimeOffset WindowStart, long Requests, long Errors, long[] LatencyBuckets,
    long ShadowRequests, long ShadowErrors);

/// <summary>
/// Adds up, per (model, version), what callers experienced: calls, server-side failures, a latency
/// histogram with the contract's fixed bounds, shadow copies. Recording is lock-free (interlocked
/// increments on the version's cell), so the request path never waits; <see cref="Take"/> swaps the counts
/// out for a window. Cells idle for a while are dropped so versions that stopped serving do not accumulate.
/// </summary>
public sealed class TrafficAggregator
{
    private static readonly double[] Bounds = TrafficObserved.LatencyBoundsMs;

    private readonly ConcurrentDictionary<(string Model, long Version), Cell> cells = new();

    // When the last window ended (0 = never): where the window of a version first seen since then begins.
    private long lastTakeTicks;

    /// <summary>Records one answered call of a routed model version.</summary>
    public void Record(string model, long version, bool failed, double latencyMs)
    {
        var cell = CellFor(model, version);
        // Requests before errors (and Take reads errors before requests): a window rarely shows more failures than calls.
        Interlocked.Increment(ref cell.Requests);
        if (failed) Interlocked.Increment(ref cell.Errors);
        Interlocked.Increment(ref cell.Buckets[BucketOf(latencyMs)]);
    }

    /// <summary>Records one shadow copy sent to a version.</summary>
    public void RecordShadow(string model, long version, bool failed)
    {
        var cell = CellFor(model, version);
        Interlocked.Increment(ref cell.ShadowRequests);
        if (failed) Interlocked.Increment(ref cell.ShadowErrors);
    }

    /// <summary>
    /// Takes the counts of every version that had traffic since the last take (their window ends at
    /// <paramref name="now"/>); versions without traffic give no window. A cell idle longer than
    /// <paramref name="forgetAfter"/> is dropped.
    /// </summary>
    public List<TrafficWindow> Take(DateTimeOffset now, TimeSpan forgetAfter)
    {
        var windows = new List<TrafficWindow>();
        foreach (var (key, cell) in cells)
        {
            var errors = Interlocked.Exchange(ref cell.Errors, 0);
            var requests = Interlocked.Exchange(ref cell.Requests, 0);
            var shadowErrors = Interlocked.Exchange(ref cell.ShadowErrors, 0);
            var shadowRequests = Interlocked.Exchange(ref cell.ShadowRequests, 0);
            var buckets = new long[cell.Buckets.Length];
            for (var i = 0; i < buckets.Length; i++) buckets[i] = Interlocked.Exchange(ref cell.Buckets[i], 0);
            // A failure recorded between the two exchanges belongs to a call of the next window: give it back.
            if (errors > requests) Interlocked.Add(ref cell.Errors, errors - requests);
            if (shadowErrors > shadowRequests) Interlocked.Add(ref cell.ShadowErrors, shadowErrors - shadowRequests);

            // A cell born since the last take began its window then (the very first take has no earlier point: an empty span).
            var startTicks = Interlocked.Exchange(ref cell.WindowStartTicks, now.UtcTicks);
            var start = new DateTimeOffset(startTicks > 0 ? startTicks : lastTakeTicks > 0 ? lastTakeTicks : now.UtcTicks, TimeSpan.Zero);
            if (cell.LastTrafficTicks == 0) cell.LastTrafficTicks = now.UtcTicks;
            if (requests > 0 || shadowRequests > 0)
            {
                cell.LastTrafficTicks = now.UtcTicks;
                windows.Add(new TrafficWindow(key.Model, key.Version, start, requests, Math.Min(errors, requests), buckets,
                    shadowRequests, Math.Min(shadowErrors, shadowRequests)));
            }
            else if (now.UtcTicks - cell.LastTrafficTicks > forgetAfter.Ticks)
            {
                // A call racing this removal lands in the removed cell and is lost: at most one call of a version idle for minutes.
                cells.TryRemove(new KeyValuePair<(string, long), Cell>(key, cell));
            }
        }
        lastTakeTicks = now.UtcTicks;
        return windows;
    }

    /// <summary>Versions with a cell (traffic lately).</summary>
    public int Count => cells.Count;

    /// <summary>The bucket of a latency: the first bound it does not exceed, else the overflow bucket.</summary>
    public static int BucketOf(double latencyMs)
    {
        for (var i = 0; i < Bounds.Length; i++)
        {
            if (latencyMs <= Bounds[i]) return i;
        }
        return Bounds.Length;
    }

    /// <summary>
    /// Whether an answer failed on the server's side: gRPC Internal, Unavailable, Unknown, DeadlineExceeded or
    /// DataLoss (by status name), or an HTTP 5xx (by number). A caller's mistake (InvalidArgument, 4xx) or a
    /// call the caller cancelled is not the version's failure.
    /// </summary>
    public static bool IsServerError(bool grpc, string code) => grpc
        ? code is "Internal" or "Unavailable" or "Unknown" or "DeadlineExceeded" or "DataLoss"
        : int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var status) && status >= 500;

    private Cell CellFor(string model, long version) =>
        cells.TryGetValue((model, version), out var cell) ? cell : cells.GetOrAdd((model, version), static _ => new Cell());

    private sealed class Cell
    {
        public long Requests;
        public long Errors;
        public long ShadowRequests;
        public long ShadowErrors;
        public readonly long[] Buckets = new long[Bounds.Length + 1];
        // 0 until the first take that sees the cell.
        public long WindowStartTicks;
        public long LastTrafficTicks;
    }
}
