using System.Globalization;
using MassTransit;
using MaaS.Contracts;
using MaaS.Updater.Gate;
using MaaS.Updater.Storage;

namespace MaaS.Updater.Consumers;

/// <summary>
/// A job registered a version: record it in the model's timeline, then, for a retraining the updater
/// started, run the gate and the handoff. Redelivery is harmless (seen events and retraining states).
/// </summary>
public sealed class ModelTrainedConsumer(UpdaterStore store, GateRunner gates) : IConsumer<ModelTrained>
{
    /// <inheritdoc />
    public async Task Consume(ConsumeContext<ModelTrained> context)
    {
        var trained = context.Message;
        var retrain = store.GetRetrain(trained.JobId);
        store.AppendOnce(trained.EventId, trained.ModelName, TimelineKinds.Training,
            $"Job {trained.JobId} registered version {trained.Version}",
            new Dictionary<string, string>
            {
                ["job_id"] = trained.JobId,
                ["state"] = "Registered",
                ["version"] = trained.Version.ToString(CultureInfo.InvariantCulture),
                ["artifact_digest"] = trained.ArtifactDigest,
            },
            retrain?.CorrelationId ?? trained.CorrelationId);
        await gates.OnTrainedAsync(trained.JobId, trained.Version, context.CancellationToken);
    }
}
