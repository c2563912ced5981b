using MaaS.Trainer.V1;

namespace MaaS.Trainer.Tests.Support;

/// <summary>The job calls the trainer tests make: submit, watch to the end, watch until a state.</summary>
public static class JobCalls
{
    /// <summary>Submits <paramref name="spec"/>; returns the job id.</summary>
    public static async Task<string> Submit(TrainerService.TrainerServiceClient client, TrainingSpec spec) =>
        (await client.SubmitJobAsync(new SubmitJobRequest { Spec = spec })).JobId;

    /// <summary>Every snapshot the watch streams until the job ends.</summary>
    public static async Task<List<Job>> WatchToEnd(TrainerService.TrainerServiceClient client, string jobId)
    {
        using var call = client.WatchJob(new WatchJobRequest { JobId = jobId }, deadline: DateTime.UtcNow.AddMinutes(3));
        var states = new List<Job>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) states.Add(call.ResponseStream.Current.Job);
        return states;
    }

    /// <summary>Watches until the job matches; the deadline only keeps a broken trainer from hanging the run.</summary>
    public static async Task WaitFor(TrainerService.TrainerServiceClient client, string jobId, Func<Job, bool> condition)
    {
        using var call = client.WatchJob(new WatchJobRequest { JobId = jobId }, deadline: DateTime.UtcNow.AddMinutes(2));
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            if (condition(call.ResponseStream.Current.Job)) return;
        }
        throw new InvalidOperationException($"Job {jobId} ended without reaching the awaited state.");
    }
}
