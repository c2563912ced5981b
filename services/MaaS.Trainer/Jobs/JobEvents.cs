using MaaS.Contracts;
using MaaS.Trainer.V1;
using MaaS.ServiceDefaults.Outbox;
using Microsoft.Data.Sqlite;

namespace MaaS.Trainer.Jobs;

/// <summary>
/// The job events: built from job snapshots and written by <see cref="JobStore"/> to the outbox in trainer.db
/// inside the transaction of the state change they report; the shared OutboxDispatcher publishes them in
/// order. So a state change and its events are never separated, and a broker outage delays them without loss.
/// </summary>
public sealed class JobEvents(OutboxSignal signal)
{
    /// <summary>TrainingJobStateChanged for the job's current state.</summary>
    public static TrainingJobStateChanged StateChanged(Job job) => new()
    {
        JobId = job.JobId,
        ModelName = job.Spec?.ModelName ?? "",
        State = JobStates.EventName(job.State),
        Message = job.Message,
        CorrelationId = job.CorrelationId,
    };

    /// <summary>ModelTrained for a job that registered a version.</summary>
    public static ModelTrained ModelTrained(Job job, string artifactDigest) => new()
    {
        JobId = job.JobId,
        ModelName = job.Spec.ModelName,
        Version = job.RegisteredVersion,
        ArtifactDigest = artifactDigest,
        ParentVersion = job.Spec.WarmStartVersion,
        Metrics = new Dictionary<string, double>(job.Metrics),
        CorrelationId = job.CorrelationId,
    };

    /// <summary>TrainingProgressed for the job's latest progress.</summary>
    public static TrainingProgressed Progressed(Job job) => new()
    {
        JobId = job.JobId,
        ModelName = job.Spec.ModelName,
        Epoch = job.Progress.Epoch,
        Epochs = job.Progress.Epochs,
        TrainLoss = job.Progress.TrainLoss,
        ValidationLoss = job.Progress.HasValidationLoss ? job.Progress.ValidationLoss : null,
        Elapsed = job.Progress.Elapsed?.ToTimeSpan() ?? TimeSpan.Zero,
        Eta = job.Progress.Eta?.ToTimeSpan() ?? TimeSpan.Zero,
        CorrelationId = job.CorrelationId,
    };

    /// <summary>
    /// Adds the events of a change to the outbox inside its transaction; returns what to do once it has
    /// committed (wake the dispatcher).
    /// </summary>
    public Action Write(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<MeshMessage> messages)
    {
        if (messages.Count == 0) return static () => { };
        foreach (var message in messages) SqliteOutbox.Enqueue(connection, transaction, message);
        return signal.Notify;
    }
}
