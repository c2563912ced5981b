using System.Globalization;
using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using MaaS.Trainer.Training;
using MaaS.Trainer.V1;

namespace MaaS.Trainer.Jobs;

/// <summary>
/// Takes a running job's progress reports off the training loop: the loop only queues a record (no SQLite,
/// no JSON, no event) and a writer task stores them in batches, at most one transaction per
/// <see cref="FlushInterval"/>. Every report still reaches the history; watchers see the latest report of each
/// batch; TrainingProgressed stays throttled to one per <see cref="EventInterval"/> plus the final one.
/// <see cref="CompleteAsync"/> writes what is left, so the job's next state change comes after its last progress.
/// </summary>
public sealed partial class ProgressRecorder
{
    /// <summary>Least time between two progress transactions of one job.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Least time between two TrainingProgressed events of one job (the final report is always published).</summary>
    public static readonly TimeSpan EventInterval = TimeSpan.FromSeconds(1);

    private readonly JobStore store;
    private readonly string jobId;
    private readonly int epochs;
    private readonly TimeProvider clock;
    private readonly ILogger logger;
    private readonly Channel<(ProgressReport Report, bool Final)> reports =
        Channel.CreateUnbounded<(ProgressReport, bool)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ProgressThrottle throttle = new(EventInterval);
    private readonly Task writer;

    /// <summary>Starts the writer for one job.</summary>
    public ProgressRecorder(JobStore store, string jobId, TrainingSpec spec, TimeProvider clock, ILogger logger)
    {
        this.store = store;
        this.jobId = jobId;
        epochs = spec.Epochs;
        this.clock = clock;
        this.logger = logger;
        writer = Task.Run(WriteAsync);
    }

    /// <summary>Queues one report; called on the training thread, so it only builds the record.</summary>
    public void Report(EpochProgress p, TimeSpan elapsed)
    {
        Telemetry.TrainerMetrics.Epoch();
        var eta = p.Epoch >= epochs || p.Final ? TimeSpan.Zero : elapsed / p.Epoch * (epochs - p.Epoch);
        var progress = new JobProgress
        {
            Epoch = p.Epoch,
            Epochs = epochs,
            TrainLoss = p.TrainLoss,
            Metrics = { ["learning_rate"] = p.LearningRate },
            Elapsed = Duration.FromTimeSpan(elapsed),
            Eta = Duration.FromTimeSpan(eta),
        };
        if (p.ValidationLoss is { } val) progress.ValidationLoss = val;
        var message = p.ValidationLoss is { } v
            ? string.Create(CultureInfo.InvariantCulture, $"Epoch {p.Epoch}/{epochs}, loss {p.TrainLoss:G6}, validation loss {v:G6}.")
            : string.Create(CultureInfo.InvariantCulture, $"Epoch {p.Epoch}/{epochs}, loss {p.TrainLoss:G6}.");
        reports.Writer.TryWrite((new ProgressReport(progress, message), p.Final));
    }

    /// <summary>Ends the run's reporting: writes the reports still queued and returns when they are stored.</summary>
    public async Task CompleteAsync()
    {
        reports.Writer.TryComplete();
        ended.TrySetResult();
        await writer;
    }

    private async Task WriteAsync()
    {
        var batch = new List<ProgressReport>();
        while (await reports.Reader.WaitToReadAsync())
        {
            batch.Clear();
            var final = false;
            while (reports.Reader.TryRead(out var item))
            {
                batch.Add(item.Report);
                final |= item.Final;
            }
            try
            {
                store.RecordProgress(jobId, batch, publish: throttle.Take(clock.GetUtcNow(), final));
            }
            catch (Exception ex)
            {
                // Progress is informative; a failed write must not fail the job (its end state is written apart).
                LogWriteFailed(logger, ex, jobId);
            }
            // Coalesce the next reports into one transaction, unless the run has ended and only the rest is left.
            await Task.WhenAny(Task.Delay(FlushInterval), ended.Task);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: progress could not be stored")]
    private static partial void LogWriteFailed(ILogger logger, Exception ex, string jobId);
}
