namespace MaaS.Contracts;

/// <summary>
/// Event (inference replica → updater): a sample of the inputs a model version received lately, for
/// drift detection. Rows are feature vectors in the model's input order; a replica sends at most a
/// bounded number of rows per model and interval, so heavy traffic is sampled, not copied.
/// </summary>
public sealed record InputsSampled : MeshMessage
{
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Version that received the inputs.</summary>
    public long Version { get; init; }
    /// <summary>Replica that sampled them.</summary>
    public string ReplicaId { get; init; } = "";
    /// <summary>Feature vectors, one per sampled row.</summary>
    public IReadOnlyList<double[]> Rows { get; init; } = [];
    /// <summary>Rows the version received in the interval (sampled or not).</summary>
    public long RowsSeen { get; init; }
}

/// <summary>
/// Event (gateway → updater): what callers of one model version experienced over a short window:
/// calls, failures and a latency histogram with fixed bounds, so windows and gateways add up.
/// </summary>
public sealed record TrafficObserved : MeshMessage
{
    /// <summary>Upper bounds of the latency buckets in milliseconds (the last bucket is everything above).</summary>
    public static readonly double[] LatencyBoundsMs = [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Version the calls were routed to.</summary>
    public long Version { get; init; }
    /// <summary>Gateway instance that observed them.</summary>
    public string Source { get; init; } = "";
    /// <summary>Window start.</summary>
    public DateTimeOffset WindowStart { get; init; }
    /// <summary>Window end.</summary>
    public DateTimeOffset WindowEnd { get; init; }
    /// <summary>Calls answered (any status).</summary>
    public long Requests { get; init; }
    /// <summary>Calls that failed for a reason on the server's side (gRPC Internal, Unavailable, Unknown, DeadlineExceeded, DataLoss; HTTP 5xx).</summary>
    public long Errors { get; init; }
    /// <summary>Call counts per latency bucket: LatencyBoundsMs.Length + 1 entries.</summary>
    public long[] LatencyBuckets { get; init; } = [];
    /// <summary>Shadow calls (copies) to this version in the window, and how many of them failed.</summary>
    public long ShadowRequests { get; init; }
    /// <summary>Failed shadow calls.</summary>
    public long ShadowErrors { get; init; }
}
