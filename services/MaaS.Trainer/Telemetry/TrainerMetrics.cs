using System.Diagnostics;
using MaaS.ServiceDefaults.Telemetry;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.V1;
using Prometheus;

namespace MaaS.Trainer.Telemetry;

/// <summary>
/// The trainer's Prometheus metrics (served on Mesh:MetricsPort by ServiceDefaults): jobs by state, how long
/// they ran, and epochs trained (rate() gives epochs per second). Fed by <see cref="JobStore"/> after each
/// committed state change and by the progress recorder once per epoch.
/// </summary>
public static class TrainerMetrics
{
    private static readonly Counter Jobs = Metrics.CreateCounter("maas_trainer_jobs_total",
        "Training jobs that entered each state on this replica (queued, running, succeeded, failed, cancelled).",
        new CounterConfiguration { LabelNames = ["state"] });

    private static readonly Gauge Running = Metrics.CreateGauge("maas_trainer_jobs_running",
        "Jobs this replica is training now.");

    private static readonly Histogram Duration = Metrics.CreateHistogram("maas_trainer_job_duration_seconds",
        "Time from a job's start to its end (dataset, training, export check, registration), by end state.",
        new HistogramConfiguration { LabelNames = ["state"], Buckets = Histogram.ExponentialBuckets(0.25, 2, 16) });

    private static readonly Counter Epochs = Metrics.CreateCounter("maas_trainer_epochs_total",
        "Epochs trained on this replica; rate() is epochs per second.");

    // The jobs counted as running by this process: one left Running by a previous process and failed at start
    // was never counted, so it must not be subtracted.
    private static readonly HashSet<string> RunningJobs = new(StringComparer.Ordinal);

    /// <summary>Records a committed change of <paramref name="job"/> from <paramref name="previous"/> (null: just added).</summary>
    public static void Changed(JobState? previous, Job job)
    {
        if (previous == job.State) return;
        Jobs.WithLabels(Label(job.State)).Inc();
        lock (RunningJobs)
        {
            if (job.State == JobState.Running) RunningJobs.Add(job.JobId);
            else RunningJobs.Remove(job.JobId);
            Running.Set(RunningJobs.Count);
        }
        if (JobStates.IsTerminal(job.State) && job.StartedAt is { } started && job.FinishedAt is { } finished)
        {
            Duration.WithLabels(Label(job.State)).Observe(Math.Max(0, (finished.ToDateTimeOffset() - started.ToDateTimeOffset()).TotalSeconds));
        }
    }

    /// <summary>Counts one epoch trained (called on the training thread: one atomic add).</summary>
    public static void Epoch() => Epochs.Inc();

    /// <summary>
    /// A span for the job's run, in the trace of the request or command that queued it (by its correlation id);
    /// null when tracing is off.
    /// </summary>
    public static Activity? StartJobSpan(Job job)
    {
        var span = CorrelationTraces.StartActivity("train job", job.CorrelationId);
        span?.SetTag("maas.job_id", job.JobId);
        span?.SetTag("maas.model", job.Spec?.ModelName);
        return span;
    }

    /// <summary>The state label: lower-case event name.</summary>
    public static string Label(JobState state) => JobStates.EventName(state).ToLowerInvariant();

    /// <summary>Current value of maas_trainer_jobs_total for a state (for tests and diagnostics).</summary>
    public static double JobsIn(JobState state) => Jobs.WithLabels(Label(state)).Value;

    /// <summary>Current value of maas_trainer_epochs_total.</summary>
    public static double EpochsTrained => Epochs.Value;
}
