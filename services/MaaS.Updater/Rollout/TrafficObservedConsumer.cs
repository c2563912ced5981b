using MaaS.Contracts;
using MaaS.ServiceDefaults;
using MassTransit;

namespace MaaS.Updater.Rollout;

/// <summary>
/// Counts what the gateways observed toward the running rollout of the model (if any). The updater's
/// replicas share the SQLite store, so the queue is the usual competing one: each window is counted once
/// (a redelivered event is recognised by its id). A window that makes no sense is logged and dropped.
/// </summary>
public sealed partial class TrafficObservedConsumer(RolloutManager rollouts, ILogger<TrafficObservedConsumer> logger) : IConsumer<TrafficObserved>
{
    /// <inheritdoc />
    public Task Consume(ConsumeContext<TrafficObserved> context)
    {
        var observed = context.Message;
        if (!MeshNames.IsValid(observed.ModelName) || observed.Version < 1 || observed.Requests < 0 || observed.Errors < 0
            || observed.Errors > observed.Requests || observed.ShadowRequests < 0 || observed.ShadowErrors < 0 || observed.ShadowErrors > observed.ShadowRequests)
        {
            LogDropped(logger, observed.ModelName, observed.Version, observed.Source, "the model name, version or counts are not valid");
            return Task.CompletedTask;
        }
        if (observed.LatencyBuckets.Length != TrafficTally.BucketCount)
        {
            LogDropped(logger, observed.ModelName, observed.Version, observed.Source,
                $"the latency histogram has {observed.LatencyBuckets.Length} buckets, not {TrafficTally.BucketCount}; the counts are kept, the latencies not");
        }
        rollouts.Observe(observed);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Traffic window of {Model} version {Version} from {Source} (partly) dropped: {Why}")]
    private static partial void LogDropped(ILogger logger, string model, long version, string source, string why);
}
