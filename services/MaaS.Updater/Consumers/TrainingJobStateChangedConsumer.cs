using MassTransit;
using MaaS.Contracts;
using MaaS.Updater.Storage;

namespace MaaS.Updater.Consumers;

/// <summary>
/// A training job changed state: a "training" timeline entry for the model; a retraining the updater
/// started that failed records why and lets its rows count again.
/// </summary>
public sealed partial class TrainingJobStateChangedConsumer(UpdaterStore store, ILogger<TrainingJobStateChangedConsumer> logger)
    : IConsumer<TrainingJobStateChanged>
{
    /// <inheritdoc />
    public Task Consume(ConsumeContext<TrainingJobStateChanged> context)
    {
        var change = context.Message;
        var retrain = store.GetRetrain(change.JobId);
        if (change.State is "Failed" or "Cancelled" && store.FailRetrain(change.JobId, $"training {change.State}: {change.Message}"))
        {
            // FailRetrain wrote the timeline entry with the reason.
            LogRetrainFailed(logger, change.ModelName, change.JobId, change.Message);
            return Task.CompletedTask;
        }
        var summary = change.Message.Length > 0 ? $"Job {change.JobId} is {change.State}: {change.Message}" : $"Job {change.JobId} is {change.State}";
        store.AppendOnce(change.EventId, change.ModelName, TimelineKinds.Training, summary,
            new Dictionary<string, string> { ["job_id"] = change.JobId, ["state"] = change.State, ["message"] = change.Message },
            retrain?.CorrelationId ?? change.CorrelationId);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retraining {Model} (job {JobId}) failed: {Reason}")]
    private static partial void LogRetrainFailed(ILogger logger, string model, string jobId, string reason);
}
