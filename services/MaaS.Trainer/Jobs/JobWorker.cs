using MaaS.Trainer.Training;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Jobs;

/// <summary>Takes queued jobs and runs up to Trainer:MaxConcurrentJobs of them at once.</summary>
public sealed partial class JobWorker(JobQueue queue, TrainingJobRunner runner, IOptions<TrainerOptions> options, ILogger<JobWorker> logger)
    : BackgroundService
{
    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var slots = options.Value.MaxConcurrentJobs;
        LogStarted(logger, slots);
        // One reader loop per slot; training is CPU-bound and synchronous, so each loop gets its own thread-pool task.
        return Task.WhenAll(Enumerable.Range(0, slots).Select(_ => Task.Run(() => RunLoopAsync(stoppingToken), CancellationToken.None)));
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
            // Shutting down; jobs still queued are lost with the in-memory store.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Training worker started with {Slots} job slot(s)")]
    private static partial void LogStarted(ILogger logger, int slots);
}
