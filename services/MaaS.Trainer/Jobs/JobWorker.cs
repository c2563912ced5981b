using MaaS.Trainer.Training;
using MaaS.Trainer.V1;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Jobs;

/// <summary>
/// Runs the jobs submitted over gRPC on this replica. At start it first settles what a previous run left:
/// a job still Running then was cut off and is marked Failed; Queued jobs run again, oldest first.
/// </summary>
public sealed partial class JobWorker(JobQueue queue, JobStore store, TrainingJobRunner runner, IOptions<TrainerOptions> options, ILogger<JobWorker> logger)
    : BackgroundService
{
    /// <summary>The reason given to a job that was Running when the trainer stopped.</summary>
    public const string InterruptedReason = "interrupted: the trainer restarted during the job";

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the bus and gRPC take new work, so a redelivered command finds its job settled.
        var replica = options.Value.ReplicaId;
        foreach (var id in store.Ids(JobState.Running, replica))
        {
            store.Update(id, j =>
            {
                j.State = JobState.Failed;
                j.Message = InterruptedReason;
                j.FinishedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow);
            }, jobEvents: j => [JobEvents.StateChanged(j)]);
            LogInterrupted(logger, id);
        }
        var queued = store.Ids(JobState.Queued, replica);
        foreach (var id in queued) queue.Enqueue(id);
        LogStarted(logger, options.Value.MaxConcurrentJobs, replica, queued.Count);
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // One reader loop per slot; the runner takes a slot (shared with bus commands) before it starts a job.
        return Task.WhenAll(Enumerable.Range(0, options.Value.MaxConcurrentJobs)
            .Select(_ => Task.Run(() => RunLoopAsync(stoppingToken), CancellationToken.None)));
    }

    private async Task RunLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var jobId in queue.Reader.ReadAllAsync(stoppingToken))
            {
                await runner.RunAsync(jobId, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down; queued jobs stay Queued in trainer.db and run after the restart.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Training worker started with {Slots} job slot(s) as replica {ReplicaId}; {Queued} queued job(s) resumed")]
    private static partial void LogStarted(ILogger logger, int slots, string replicaId, int queued);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was running when the trainer stopped; marked failed")]
    private static partial void LogInterrupted(ILogger logger, string jobId);
}
