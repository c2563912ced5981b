using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using MaaS.Trainer.V1;

namespace MaaS.UpdaterBenchmarks.Scenarios;

/// <summary>What one update of the model measured: the steps in time order, the outcome and the traffic seen.</summary>
/// <param name="Steps">Steps, seconds after the ingest call was sent.</param>
/// <param name="ToFullTraffic">Seconds from the ingest call to RolloutCompleted (the challenger takes 100 %), null when it did not complete.</param>
/// <param name="Outcome">The rollout's end state and reason.</param>
/// <param name="Traffic">The background caller's answers and failures per version.</param>
/// <param name="TrafficFailures">Failed background calls.</param>
public sealed record LoopResult(List<StepTime> Steps, double? ToFullTraffic, string Outcome, string Traffic, int TrafficFailures);

/// <summary>
/// Target 1 (and, with a broker restart while training runs, target 3): 100 rows of a changed world are ingested
/// in one call, which crosses the row rule; the updater retrains, gates and rolls the challenger out with the demo
/// plan while a caller keeps sending traffic by model name. Timed from sending the ingest call.
/// </summary>
public static class LoopScenario
{
    /// <summary>Runs one update; <paramref name="whileTraining"/> (optional) runs once the job is Running on the trainer, and adds its own steps.</summary>
    public static async Task<LoopResult> RunAsync(LoopClient client, double slope, int seed, TextWriter progress,
        Func<Stopwatch, Task<List<StepTime>>>? whileTraining = null)
    {
        await client.EnsureFirstVersionAsync();
        await client.SetPolicyAsync();
        var decisionsBefore = (await client.Updater.GetUpdateStatusAsync(new() { ModelName = client.Model })).Decisions.Count;
        var champion = await client.ProductionAsync();

        var clock = new Stopwatch();
        var traffic = new TrafficCaller(client, clock, rows: 1);
        clock.Start();
        traffic.Start();
        await Task.Delay(1000);

        var zero = DateTimeOffset.UtcNow;
        var sent = clock.Elapsed.TotalSeconds;
        var report = (await client.Updater.IngestRowsAsync(client.Rows(slope, seed))).Report;
        var steps = new List<StepTime> { new($"ingest answered: {report.RowsKept} rows kept, {report.TriggerReason}", clock.Elapsed.TotalSeconds - sent, "client") };
        progress.WriteLine($"[loop] ingest answered: {report.TriggerReason}");

        if (whileTraining is not null)
        {
            var job = await WaitTrainingRunningAsync(client, progress);
            steps.Add(new StepTime($"trainer reports job {job} Running (GetJob)", clock.Elapsed.TotalSeconds - sent, "client"));
            foreach (var s in await whileTraining(clock)) steps.Add(s with { Seconds = s.Seconds - sent });
        }

        MaaS.Updater.V1.Decision decision;
        try
        {
            decision = await client.WaitDecisionAsync(decisionsBefore + 1, TimeSpan.FromSeconds(whileTraining is null ? 240 : 120));
        }
        catch (HarnessException)
        {
            // A loop that never reaches its gate is the finding: report where it stands (timeline, the job on the trainer).
            await traffic.StopAsync();
            steps.AddRange(LoopClient.Steps(await client.TimelineAsync(zero), zero).Select(x => x with { Seconds = x.Seconds }));
            steps.Sort((a, b) => a.Seconds.CompareTo(b.Seconds));
            return new LoopResult(steps, null, $"not completed: no gate decision {clock.Elapsed.TotalSeconds - sent:0} s after the ingest call; {await JobStateAsync(client)}",
                traffic.Summary(), traffic.Failed.Values.Sum());
        }
        string outcome;
        double? full = null;
        if (!decision.Promoted)
        {
            outcome = $"gate failed: {decision.Reason}";
        }
        else
        {
            var rollout = await client.WaitRolloutEndAsync(decision.ChallengerVersion, TimeSpan.FromSeconds(240));
            outcome = $"{rollout.State}: {rollout.Reason}";
            // Let the caller see the new version alone for a moment.
            await Task.Delay(1000);
        }
        await traffic.StopAsync();

        var timeline = LoopClient.Steps(await client.TimelineAsync(zero), zero);
        steps.AddRange(timeline);
        var completed = timeline.FirstOrDefault(s => s.Step.StartsWith("RolloutCompleted", StringComparison.Ordinal));
        if (completed is not null) full = completed.Seconds;
        var newVersion = decision.ChallengerVersion.ToString(CultureInfo.InvariantCulture);
        var oldVersion = champion.ToString(CultureInfo.InvariantCulture);
        if (traffic.Seen.TryGetValue(newVersion, out var seenNew)) steps.Add(new StepTime($"first call answered by version {newVersion}", seenNew.First - sent, "client"));
        if (traffic.Seen.TryGetValue(oldVersion, out var seenOld)) steps.Add(new StepTime($"last call answered by version {oldVersion}", seenOld.Last - sent, "client"));
        steps.Sort((a, b) => a.Seconds.CompareTo(b.Seconds));
        return new LoopResult(steps, full, outcome, traffic.Summary(), traffic.Failed.Values.Sum());
    }

    private static async Task<string> JobStateAsync(LoopClient client)
    {
        var status = await client.Updater.GetUpdateStatusAsync(new() { ModelName = client.Model });
        try
        {
            var job = (await client.Trainer.GetJobAsync(new GetJobRequest { JobId = status.LastJobId })).Job;
            return $"the updater's retraining is {(status.Retraining ? "still in flight" : "over")}; the trainer reports job {job.JobId} {job.State} after {job.EpochsDone} epochs{(job.Message.Length > 0 ? $" ({job.Message})" : "")}";
        }
        catch (RpcException ex)
        {
            return $"the trainer does not answer for job {status.LastJobId}: {ex.Status.Detail}";
        }
    }

    private static async Task<string> WaitTrainingRunningAsync(LoopClient client, TextWriter progress)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            var status = await client.Updater.GetUpdateStatusAsync(new() { ModelName = client.Model });
            if (status.LastJobId.Length > 0 && status.Retraining)
            {
                try
                {
                    var job = (await client.Trainer.GetJobAsync(new GetJobRequest { JobId = status.LastJobId })).Job;
                    if (job.State is JobState.Running or JobState.Succeeded or JobState.Failed)
                    {
                        progress.WriteLine($"[restart] job {job.JobId} is {job.State}");
                        return job.JobId;
                    }
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
                {
                    // The trainer has not taken the command yet.
                }
            }
            await Task.Delay(20);
        }
        throw new HarnessException("the retraining's job did not start on the trainer within 120 s.");
    }
}
