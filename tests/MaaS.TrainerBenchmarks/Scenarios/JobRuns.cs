using System.Diagnostics;
using Grpc.Core;
using MaaS.TrainerBenchmarks.Hosting;
using MaaS.Trainer.V1;

namespace MaaS.TrainerBenchmarks.Scenarios;

/// <summary>One job timed from the SubmitJob call to the WatchJob message that says Succeeded (the version is registered then).</summary>
/// <param name="Seconds">Submit → registered, client wall time.</param>
/// <param name="Job">The job as WatchJob last showed it.</param>
public sealed record TimedJob(double Seconds, Job Job)
{
    /// <summary>Training time the trainer itself reports: its last progress' elapsed (from the core's start to the last epoch).</summary>
    public double TrainerLoopSeconds => Job.Progress?.Elapsed?.ToTimeSpan().TotalSeconds ?? double.NaN;

    /// <summary>Running → Succeeded on the trainer's clock.</summary>
    public double RunningSeconds => Job.StartedAt is null || Job.FinishedAt is null
        ? double.NaN
        : (Job.FinishedAt.ToDateTimeOffset() - Job.StartedAt.ToDateTimeOffset()).TotalSeconds;
}

/// <summary>Submits and watches jobs.</summary>
public static class JobRuns
{
    /// <summary>Submits <paramref name="spec"/> and watches it to its end; a job that does not succeed stops the scenario.</summary>
    public static async Task<TimedJob> RunAsync(TrainerService.TrainerServiceClient trainer, TrainingSpec spec, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var clock = Stopwatch.StartNew();
        var id = (await trainer.SubmitJobAsync(new SubmitJobRequest { Spec = spec }, cancellationToken: cts.Token)).JobId;
        Job? last = null;
        try
        {
            using var watch = trainer.WatchJob(new WatchJobRequest { JobId = id }, cancellationToken: cts.Token);
            await foreach (var update in watch.ResponseStream.ReadAllAsync(cts.Token))
            {
                last = update.Job;
                if (last.State is JobState.Succeeded or JobState.Failed or JobState.Cancelled) break;
            }
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cts.IsCancellationRequested)
        {
            throw new HarnessException($"job {id} did not end within {timeout.TotalSeconds:0} s (last state {last?.State}).");
        }
        var seconds = clock.Elapsed.TotalSeconds;
        if (last is not { State: JobState.Succeeded })
        {
            throw new HarnessException($"job {id} ended {last?.State}: {last?.Message}");
        }
        return new TimedJob(seconds, last);
    }

    /// <summary>Median (mean of the two middles for an even count) and max.</summary>
    public static (double Median, double Max) MedianMax(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return (double.NaN, double.NaN);
        var mid = sorted.Length / 2;
        return (sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2, sorted[^1]);
    }
}
