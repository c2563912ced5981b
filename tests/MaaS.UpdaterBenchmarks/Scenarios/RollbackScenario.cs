using System.Diagnostics;
using System.Globalization;
using MaaS.Updater.V1;

namespace MaaS.UpdaterBenchmarks.Scenarios;

/// <summary>What the rollback of a broken challenger measured.</summary>
/// <param name="Steps">Steps, seconds after StartRollout was sent.</param>
/// <param name="FailureToRollback">Seconds from the challenger's first failed call to RolledBack.</param>
/// <param name="BakeSeconds">The plan's bake time.</param>
/// <param name="State">The rollout's end state.</param>
/// <param name="Reason">Why, with the numbers.</param>
/// <param name="ChampionFailures">Failed calls that the champion answered.</param>
/// <param name="ChallengerFailures">Failed calls of the challenger.</param>
/// <param name="Unattributed">Failed calls whose message names no version.</param>
/// <param name="Traffic">Answers and failures per version.</param>
/// <param name="ProductionAfter">Production after the rollback.</param>
/// <param name="Champion">The champion.</param>
public sealed record RollbackResult(List<StepTime> Steps, double? FailureToRollback, int BakeSeconds, string State, string Reason,
    int ChampionFailures, int ChallengerFailures, int Unattributed, string Traffic, long ProductionAfter, long Champion);

/// <summary>
/// Target 2: a version that fails every call of two rows (same signature as the champion) is rolled out with the
/// demo plan while a caller sends 2-row calls by model name; the updater must roll it back within one bake time
/// of its first failure, and every call the champion answered must succeed.
/// </summary>
public static class RollbackScenario
{
    /// <summary>Runs it against the model's current production version.</summary>
    public static async Task<RollbackResult> RunAsync(LoopClient client, TextWriter progress)
    {
        await client.EnsureFirstVersionAsync();
        var champion = await client.ProductionAsync();
        var broken = await client.RegisterBrokenAsync(champion);
        await client.WaitAnswersAsync(broken, pinned: true);
        progress.WriteLine($"[rollback] broken version {broken} registered and loaded");

        var clock = new Stopwatch();
        var traffic = new TrafficCaller(client, clock, rows: 2);
        clock.Start();
        traffic.Start();
        await Task.Delay(500);
        var zero = DateTimeOffset.UtcNow;
        var sent = clock.Elapsed.TotalSeconds;
        var plan = LoopClient.DemoPlan();
        plan.MinRequests = 5;
        await client.Updater.StartRolloutAsync(new StartRolloutRequest { ModelName = client.Model, Version = broken, Plan = plan, Reason = "benchmark: broken challenger" });
        var steps = new List<StepTime> { new("StartRollout answered", clock.Elapsed.TotalSeconds - sent, "client") };
        var rollout = await client.WaitRolloutEndAsync(broken, TimeSpan.FromSeconds(120));
        await Task.Delay(1000);
        await traffic.StopAsync();

        steps.AddRange(LoopClient.Steps(await client.TimelineAsync(zero), zero));
        var brokenText = broken.ToString(CultureInfo.InvariantCulture);
        var championText = champion.ToString(CultureInfo.InvariantCulture);
        if (traffic.FirstFailure is { } first) steps.Add(new StepTime($"first failed call (version {brokenText})", first - sent, "client"));
        steps.Sort((a, b) => a.Seconds.CompareTo(b.Seconds));
        var rolledBack = steps.FirstOrDefault(s => s.Step.StartsWith("RolledBack", StringComparison.Ordinal));
        double? failureToRollback = rolledBack is not null && traffic.FirstFailure is { } f ? rolledBack.Seconds - (f - sent) : null;
        return new RollbackResult(steps, failureToRollback, plan.BakeSeconds, rollout.State, rollout.Reason,
            traffic.Failed.GetValueOrDefault(championText), traffic.Failed.GetValueOrDefault(brokenText), traffic.Failed.GetValueOrDefault("?"),
            traffic.Summary(), await client.ProductionAsync(), champion);
    }
}
