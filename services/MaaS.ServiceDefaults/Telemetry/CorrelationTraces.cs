using System.Diagnostics;
using MaaS.Contracts;

namespace MaaS.ServiceDefaults.Telemetry;

/// <summary>
/// Keeps one trace across the mesh's asynchronous hops. An event written to the outbox, a training job run
/// by the worker, or a rollout step taken by the driver's timer happens with no <see cref="Activity"/> of the
/// call that caused it; but every such event carries the <see cref="MeshMessage.CorrelationId"/> of that
/// cause. So the trace context seen first with a correlation id (an event written inside a call, a message
/// consumed) is remembered in process, and work for that id later is parented to it: one trace from ingest
/// through retraining to the rollout's end. Bounded (oldest forgotten first) and idle unless tracing is on.
/// </summary>
public static class CorrelationTraces
{
    private const int Capacity = 4096;
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, ActivityContext> Contexts = new(StringComparer.Ordinal);
    private static readonly Queue<string> Order = new();
    private static volatile bool enabled;

    /// <summary>Whether contexts are remembered (set when tracing is configured).</summary>
    public static bool Enabled
    {
        get => enabled;
        set => enabled = value;
    }

    /// <summary>Remembers the current activity's context for the message's correlation id, unless one is known.</summary>
    public static void Remember(MeshMessage message) => Remember(message.CorrelationId, Activity.Current);

    /// <summary>Remembers <paramref name="activity"/>'s context for <paramref name="correlationId"/>, unless one is known.</summary>
    public static void Remember(string correlationId, Activity? activity)
    {
        if (!enabled || activity is null || correlationId.Length == 0) return;
        lock (Gate)
        {
            if (!Contexts.TryAdd(correlationId, activity.Context)) return;
            Order.Enqueue(correlationId);
            if (Order.Count > Capacity) Contexts.Remove(Order.Dequeue());
        }
    }

    /// <summary>The context remembered for <paramref name="correlationId"/>, if any.</summary>
    public static bool TryGet(string correlationId, out ActivityContext context)
    {
        context = default;
        if (!enabled || correlationId.Length == 0) return false;
        lock (Gate) return Contexts.TryGetValue(correlationId, out context);
    }

    /// <summary>
    /// Starts a span of <see cref="MeshTracing.Source"/> for work done on behalf of <paramref name="correlationId"/>:
    /// a child of the current activity when there is one, else of the context remembered for the id, else a new
    /// trace. Null when tracing is off. Dispose it when the work ends.
    /// </summary>
    public static Activity? StartActivity(string name, string correlationId, ActivityKind kind = ActivityKind.Internal)
    {
        if (!MeshTracing.Source.HasListeners()) return null;
        var parent = Activity.Current is null && TryGet(correlationId, out var remembered) ? remembered : default;
        var activity = MeshTracing.Source.StartActivity(name, kind, parent);
        if (activity is not null && correlationId.Length > 0)
        {
            activity.SetTag("maas.correlation_id", correlationId);
            Remember(correlationId, activity);
        }
        return activity;
    }
}
