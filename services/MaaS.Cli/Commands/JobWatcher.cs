using Grpc.Core;
using MaaS.Cli.Framework;
using MaaS.Trainer.V1;
using Spectre.Console;

namespace MaaS.Cli.Commands;

/// <summary>
/// Follows WatchJob to the end. On a terminal: a live progress bar with epoch, train/validation loss and ETA.
/// Piped or in tests: one line per change. With --output json: every WatchJobResponse as one JSON line.
/// </summary>
public static class JobWatcher
{
    /// <summary>Watches <paramref name="jobId"/>; exit 0 when it succeeded, else a failure line and exit 1.</summary>
    public static async Task<int> WatchAsync(CliContext context, string jobId)
    {
        using var call = context.Trainer.WatchJob(new WatchJobRequest { JobId = jobId }, cancellationToken: context.Cancellation);
        Job? last;
        if (context.Json)
        {
            last = null;
            await foreach (var update in call.ResponseStream.ReadAllAsync(context.Cancellation))
            {
                context.Out.WriteLine(Output.JsonLine(update));
                last = update.Job;
            }
        }
        else if (context.Console.Profile.Capabilities is { Interactive: true, Ansi: true })
        {
            last = await LiveAsync(context, call.ResponseStream);
        }
        else
        {
            last = await LinesAsync(context, call.ResponseStream);
        }
        return Finish(context, jobId, last);
    }

    /// <summary>The progress of a job in one line: "RUNNING epoch 12/100 · train loss 0.0123 · val loss 0.015 · ETA 0:03".</summary>
    public static string Describe(Job job)
    {
        var text = JobStates.Name(job.State);
        if (job.Progress is not { } p) return job.EpochsDone > 0 ? $"{text} epoch {job.EpochsDone}/{job.Spec?.Epochs}" : text;
        text += $" epoch {p.Epoch}/{p.Epochs} · train loss {Output.Number(p.TrainLoss)}";
        if (p.HasValidationLoss) text += $" · val loss {Output.Number(p.ValidationLoss)}";
        if (!JobStates.Ended(job.State)) text += $" · ETA {Output.Span(p.Eta)}";
        return text;
    }

    private static async Task<Job?> LinesAsync(CliContext context, IAsyncStreamReader<WatchJobResponse> stream)
    {
        Job? last = null;
        string? shown = null;
        await foreach (var update in stream.ReadAllAsync(context.Cancellation))
        {
            last = update.Job;
            var line = $"job {last.JobId} {Describe(last)}";
            if (line != shown) context.Say(line);
            shown = line;
        }
        return last;
    }

    private static async Task<Job?> LiveAsync(CliContext context, IAsyncStreamReader<WatchJobResponse> stream)
    {
        Job? last = null;
        await context.Console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask("waiting for the first report", maxValue: 1);
                await foreach (var update in stream.ReadAllAsync(context.Cancellation))
                {
                    last = update.Job;
                    var epochs = last.Progress?.Epochs ?? last.Spec?.Epochs ?? 0;
                    if (epochs > 0) task.MaxValue = epochs;
                    task.Value = last.Progress?.Epoch ?? last.EpochsDone;
                    task.Description = Markup.Escape($"{last.JobId} {Describe(last)}");
                }
                if (last is { State: JobState.Succeeded }) task.Value = task.MaxValue;
                task.StopTask();
            });
        return last;
    }

    private static int Finish(CliContext context, string jobId, Job? job)
    {
        if (job is null) throw new CliFailure("Unknown", $"the watch of job {jobId} ended without a report", ExitCodes.Failure);
        switch (job.State)
        {
            case JobState.Succeeded:
                context.Say($"job {job.JobId} SUCCEEDED after {job.EpochsDone} epochs: {job.Spec?.ModelName} version {job.RegisteredVersion} registered " +
                            $"({Output.Map(job.Metrics, Output.Number)})");
                return ExitCodes.Ok;
            case JobState.Failed:
                throw new CliFailure("FAILED", $"job {job.JobId} failed: {Output.OrDash(job.Message)}", ExitCodes.Failure);
            case JobState.Cancelled:
                throw new CliFailure("CANCELLED", $"job {job.JobId} was cancelled after {job.EpochsDone} epochs", ExitCodes.Failure);
            default:
                throw new CliFailure("Unknown", $"the watch of job {job.JobId} ended while it was {JobStates.Name(job.State)}", ExitCodes.Failure);
        }
    }
}
