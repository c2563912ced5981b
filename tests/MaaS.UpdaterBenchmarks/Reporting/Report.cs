using System.Globalization;
using System.Text;
using MaaS.UpdaterBenchmarks.Scenarios;

namespace MaaS.UpdaterBenchmarks.Reporting;

/// <summary>What the scenarios measured, or why one stopped.</summary>
public sealed class Results
{
    /// <summary>Target 1: the loop at demo settings.</summary>
    public LoopResult? Loop { get; set; }

    /// <summary>Target 2: a broken challenger rolled back.</summary>
    public RollbackResult? Rollback { get; set; }

    /// <summary>Target 3: the loop across a broker restart.</summary>
    public LoopResult? Restart { get; set; }

    /// <summary>Scenario → why it stopped.</summary>
    public Dictionary<string, string> Failed { get; } = [];
}

/// <summary>The markdown document: header, one step-by-step table per scenario, the targets.</summary>
public static class Report
{
    private const double LoopTargetSeconds = 30;

    /// <summary>Writes the whole document.</summary>
    public static string Write(BenchOptions o, Results r)
    {
        var s = new StringBuilder();
        s.AppendLine("# Updater benchmarks — the update loop, an automatic rollback, a broker restart");
        s.AppendLine();
        s.AppendLine($"- **Command:** `{o.Command}` (from the repository root)");
        s.AppendLine($"- **Machine:** {MachineInfo.Summary(withMemory: true)}");
        s.AppendLine($"- **Date:** {MachineInfo.UtcNow()} UTC; load average at the end {MachineInfo.LoadAverage()} (other work on the machine skews the numbers)");
        s.AppendLine($"- **Method:** a private RabbitMQ (`infra/rabbitmq.sh`) and the registry, trainer, updater, one inference replica and the gateway, each its own process ({o.Configuration} build) on loopback ports; every call goes through the gateway with its admin key. Demo settings: policy retrain after 100 rows, 20 % held out, MSE gate, the 80 newest rows; rollout plan canary 50 % → 100 %, bake 1 s, auto-advance, max error-rate increase 5 points (the walkthrough's); `Updater:Rollouts:TickMilliseconds` 100, `Gateway:Traffic:IntervalMilliseconds` 250, `Gateway:PollIntervalMs` 200. A caller sends inference calls by model name alone throughout (about one every 10 ms). Times are seconds after the scenario's first call; \"timeline\" rows are the updater's ExplainModel entries (its clock, same machine), \"client\" rows the tool's own.");

        s.AppendLine();
        s.AppendLine("## 1. From the ingested row that crosses the threshold to 100 % of traffic");
        s.AppendLine();
        s.AppendLine("Version 1 (y = 2x + 1) is production. One IngestRows call brings 100 rows of y = 3x + 1 (the row rule's threshold is 100).");
        if (r.Loop is { } loop) LoopSection(s, loop);
        Failure(s, r, "loop");

        s.AppendLine();
        s.AppendLine("## 2. A broken challenger rolled back");
        s.AppendLine();
        s.AppendLine("A version with the champion's signature whose graph reshapes its input to a fixed [1, 1] (it loads and answers one row, and fails inside ONNX Runtime — gRPC Internal — on two) is rolled out with the demo plan (min_requests 5) while the caller sends 2-row calls. Failures are attributed to the version named in the replica's message.");
        if (r.Rollback is { } rb)
        {
            Steps(s, rb.Steps);
            s.AppendLine();
            s.AppendLine($"- Outcome: **{rb.State}** — {rb.Reason}");
            s.AppendLine($"- First challenger failure → RolledBack: **{F(rb.FailureToRollback)} s** (bake {rb.BakeSeconds} s)");
            s.AppendLine($"- Calls: {rb.Traffic}; failures naming no version: {rb.Unattributed}");
            s.AppendLine($"- Production after: version {rb.ProductionAfter} (champion was {rb.Champion})");
        }
        Failure(s, r, "rollback");

        s.AppendLine();
        s.AppendLine("## 3. Broker restart in the middle of the loop");
        s.AppendLine();
        s.AppendLine($"As in 1 on a model of its own (bench-restart, version 1 trained with {o.RestartEpochs} epochs, which every retraining reuses, so a retraining lasts seconds); once the trainer reports the retraining's job Running (GetJob), the broker is stopped (`infra/rabbitmq.sh stop` of the tool's private node), kept down {o.BrokerDownSeconds} s and started again on the same ports and folder. The services stay up.");
        if (r.Restart is { } restart)
        {
            LoopSection(s, restart);
            if (restart.ToFullTraffic is null && restart.Outcome.Contains(" Running after ", StringComparison.Ordinal))
            {
                s.AppendLine();
                s.AppendLine("**Diagnosis (trainer log of such runs):** when the broker goes away, MassTransit cancels the consume context of the TrainModel being handled; `Consumers/TrainModelConsumer.cs` passes that token to `TrainingJobRunner.RunAsync` as its *stopping* token, so the trainer logs \"Job … left Running: the trainer is stopping\" and abandons the job while the process lives on. When the broker is back the command is redelivered and `JobSubmitter` ignores it (\"already known; the command is a redelivery\"), so the job stays Running for ever (its progress frozen), no ModelTrained is sent, and the updater's retraining waits for `Updater:RetrainTimeoutMinutes` (360 by default).");
            }
        }
        Failure(s, r, "restart");

        s.AppendLine();
        s.AppendLine("## Targets");
        s.AppendLine();
        s.AppendLine("| target | result | met? | why |");
        s.AppendLine("|---|---|---|---|");
        if (r.Loop is { } l)
        {
            var met = l.ToFullTraffic is { } t && t <= LoopTargetSeconds && l.TrafficFailures == 0;
            s.AppendLine($"| last crossing row → new version at 100 % ≤ 30 s (demo rollout) | {F(l.ToFullTraffic)} s, {l.TrafficFailures} failed calls | {(met ? "met" : "missed")} | {(met ? "retraining, gate and two 1 s canary steps fit well within the limit" : l.Outcome)} |");
        }
        else s.AppendLine($"| last crossing row → 100 % ≤ 30 s | not measured | missed | {Why(r, "loop")} |");
        if (r.Rollback is { } b)
        {
            var met = b.State == "rolled_back" && b.FailureToRollback is { } ftr && ftr <= b.BakeSeconds && b.ChampionFailures == 0 && b.Unattributed == 0;
            s.AppendLine($"| broken challenger rolled back within one bake interval, champion with zero failed calls | {b.State} {F(b.FailureToRollback)} s after its first failure; champion failures {b.ChampionFailures} | {(met ? "met" : "missed")} | {(met ? "the driver judges every tick on 250 ms traffic windows, not at the end of the step" : b.Reason)} |");
        }
        else s.AppendLine($"| broken challenger rolled back | not measured | missed | {Why(r, "rollback")} |");
        if (r.Restart is { } re)
        {
            var stopped = re.Steps.FirstOrDefault(x => x.Step == "broker stopped")?.Seconds;
            var back = re.Steps.FirstOrDefault(x => x.Step == "broker takes connections again")?.Seconds;
            var trained = re.Steps.FirstOrDefault(x => x.Step.StartsWith("trained", StringComparison.Ordinal))?.Seconds;
            var completed = re.Outcome.StartsWith("completed", StringComparison.Ordinal);
            // Only a loop that was still under way when the broker went down (not yet trained) says anything about the restart.
            var midLoop = stopped is { } st && trained is { } tr && st < tr;
            var met = completed && midLoop && re.ToFullTraffic is { } done && back is { } b2 && done > b2;
            var why = !completed ? re.Outcome
                : !midLoop ? "the retraining finished before the broker was down; raise --restart-epochs"
                : "the services reconnect to the broker and the loop's remaining events (trained, gate, rollout) flow once it is back";
            s.AppendLine($"| broker restart mid-loop: the loop completes after the broker returns | broker down {F(stopped)}–{F(back)} s, trained at {F(trained)} s, {re.Outcome.Split(':')[0]} at {F(re.ToFullTraffic)} s | {(met ? "met" : "missed")} | {why} |");
        }
        else s.AppendLine($"| broker restart mid-loop | not measured | missed | {Why(r, "restart")} |");
        return s.ToString();
    }

    private static void LoopSection(StringBuilder s, LoopResult loop)
    {
        Steps(s, loop.Steps);
        s.AppendLine();
        s.AppendLine($"- Outcome: **{loop.Outcome}**");
        s.AppendLine($"- Ingest call → RolloutCompleted (100 % of traffic): **{F(loop.ToFullTraffic)} s**");
        s.AppendLine($"- Background calls: {loop.Traffic}");
    }

    private static void Steps(StringBuilder s, List<StepTime> steps)
    {
        s.AppendLine();
        s.AppendLine("| t (s) | step | seen by |");
        s.AppendLine("|---:|---|---|");
        foreach (var step in steps) s.AppendLine($"| {F(step.Seconds)} | {step.Step.Replace("|", "\\|", StringComparison.Ordinal)} | {step.Source} |");
    }

    private static void Failure(StringBuilder s, Results r, string name)
    {
        if (r.Failed.TryGetValue(name, out var why))
        {
            s.AppendLine();
            s.AppendLine($"**Stopped:** {why.Split('\n')[0]}");
        }
    }

    private static string Why(Results r, string name) => r.Failed.TryGetValue(name, out var why) ? why.Split('\n')[0] : "not run (--scenarios)";

    private static string F(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "—";
}
