using System.Diagnostics;
using System.Globalization;

namespace MaaS.Gateway.Traffic;

/// <summary>
/// The hooks the forwarding path calls (from GatewayMetrics, itself process-wide like the Prometheus
/// registry): one per finished model-routed request and one per shadow copy. They add to
/// <see cref="Shared"/>, which <see cref="TrafficPublisher"/> turns into TrafficObserved windows. Until a
/// publisher runs, recording is off and costs one read.
/// </summary>
public static class TrafficRecorder
{
    /// <summary>The process's counts (one gateway per process).</summary>
    public static TrafficAggregator Shared { get; } = new();

    // Publishers running in this process (tests host several gateways in one); counting is on while one runs.
    private static int publishers;

    /// <summary>Whether calls are being counted (a publisher is running).</summary>
    public static bool Enabled => Volatile.Read(ref publishers) > 0;

    /// <summary>A publisher started: count calls.</summary>
    internal static void PublisherStarted() => Interlocked.Increment(ref publishers);

    /// <summary>A publisher stopped: with none left, stop counting.</summary>
    internal static void PublisherStopped() => Interlocked.Decrement(ref publishers);

    /// <summary>
    /// One finished model-routed request: <paramref name="version"/> as routed ("" = nothing was routed, not
    /// counted), <paramref name="code"/> the gRPC status name or HTTP status, timed from <paramref name="startTimestamp"/>.
    /// </summary>
    public static void Request(string model, string version, bool grpc, string code, long startTimestamp)
    {
        if (!Enabled || !long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1) return;
        Shared.Record(model, number, TrafficAggregator.IsServerError(grpc, code), Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds);
    }

    /// <summary>
    /// One shadow copy's outcome (a gRPC status name, or "error" when the copy could not be sent); copies
    /// that were never sent ("dropped", "no_replica") are not calls to the version and are not counted.
    /// </summary>
    public static void Shadow(string model, long version, string outcome)
    {
        if (!Enabled || version < 1 || outcome is "dropped" or "no_replica") return;
        Shared.RecordShadow(model, version, outcome == "error" || TrafficAggregator.IsServerError(grpc: true, outcome));
    }
}
