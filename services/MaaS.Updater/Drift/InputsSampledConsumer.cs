using MaaS.Contracts;
using MaaS.ServiceDefaults;
using MassTransit;

namespace MaaS.Updater.Drift;

/// <summary>
/// Stores the inputs inference replicas sampled. Every updater replica shares the SQLite store, so the
/// queue is the usual competing one ("updater-inputs-sampled"): each event is stored once. A message that
/// does not make sense is logged and dropped (samples are not precious; redelivering it would not help).
/// </summary>
public sealed partial class InputsSampledConsumer(DriftSampleStore store, ILogger<InputsSampledConsumer> logger) : IConsumer<InputsSampled>
{
    /// <summary>Widest row taken, in features (the inference replicas sample at most this much by default).</summary>
    public const int MaxFeatures = 100_000;

    /// <inheritdoc />
    public Task Consume(ConsumeContext<InputsSampled> context)
    {
        var message = context.Message;
        if (!MeshNames.IsValid(message.ModelName) || message.Version < 1)
        {
            LogDropped(logger, message.ModelName, message.Version, message.ReplicaId, "the model name or version is not valid");
            return Task.CompletedTask;
        }
        var rows = Usable(message.Rows, out var dropped);
        if (dropped > 0)
        {
            LogDropped(logger, message.ModelName, message.Version, message.ReplicaId,
                $"{dropped} of {message.Rows.Count} rows were empty, too wide, of another width than the first or not finite numbers");
        }
        if (rows.Count > 0)
        {
            store.Add(message.ModelName, message.Version, message.ReplicaId, message.EventId, rows);
        }
        return Task.CompletedTask;
    }

    /// <summary>The rows worth comparing: all of the first row's width, with finite values only.</summary>
    public static List<double[]> Usable(IReadOnlyList<double[]> rows, out int dropped)
    {
        var usable = new List<double[]>(rows.Count);
        var width = -1;
        foreach (var row in rows)
        {
            if (row is null || row.Length == 0 || row.Length > MaxFeatures || (width >= 0 && row.Length != width) || !row.All(double.IsFinite))
            {
                continue;
            }
            width = row.Length;
            usable.Add(row);
        }
        dropped = rows.Count - usable.Count;
        return usable;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sampled inputs of {Model} version {Version} from {Replica} partly dropped: {Why}")]
    private static partial void LogDropped(ILogger logger, string model, long version, string replica, string why);
}
