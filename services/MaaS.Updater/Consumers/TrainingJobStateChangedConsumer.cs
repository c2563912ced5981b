using MassTransit;
using MaaS.Contracts;
using MaaS.Updater.Storage;

namespace MaaS.Updater.Consumers;

/// <summary>A retraining the updater started failed: record why and let its rows count again.</summary>
public sealed partial class TrainingJobStateChangedConsumer(UpdaterStore store, ILogger<TrainingJobStateChangedConsumer> logger)
    : IConsumer<TrainingJobStateChanged>
{
    /// <inheritdoc />
    public Task Consume(ConsumeContext<TrainingJobStateChanged> context)
    {
        var change = context.Message;
        if (change.State is "Failed" or "Cancelled" && store.FailRetrain(change.JobId, $"training {change.State}: {change.Message}"))
        {
            LogRetrainFailed(logger, change.ModelName, change.JobId, change.Message);
        }
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retraining {Model} (job {JobId}) failed: {Reason}")]
    private static partial void LogRetrainFailed(ILogger logger, string model, string jobId, string reason);
}
