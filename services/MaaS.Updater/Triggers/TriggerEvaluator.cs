using System.Globalization;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using MaaS.Updater.Drift;
using MaaS.Updater.Gate;
using MaaS.Updater.Registry;
using MaaS.Updater.Retraining;
using MaaS.Updater.Storage;
using MaaS.Updater.V1;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Triggers;

/// <summary>What an evaluation of a model's rules led to.</summary>
/// <param name="JobId">The retraining started, or null.</param>
/// <param name="Reason">Which rule fired with its numbers, or why none did.</param>
public sealed record TriggerOutcome(string? JobId, string Reason);

/// <summary>
/// Looks at a model's automatic rules in a fixed order (rows, feedback, drift, schedule) and starts a
/// retraining for the first that fires. Nothing fires while a retraining of the model is in flight:
/// the rules wait and are looked at again after it (the debounce itself is in the store's reservation,
/// so two evaluations at once still start one retraining).
/// </summary>
public sealed partial class TriggerEvaluator(
    UpdaterStore store, IRegistryGateway registry, RetrainPlanner planner, IDriftMonitor drift, ChampionChallengerGate gate,
    TimeProvider time, IOptions<UpdaterOptions> options, ILogger<TriggerEvaluator> logger)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> turns = new(StringComparer.Ordinal);

    /// <summary>
    /// Takes the model's turn: while it is held no other evaluation of the model runs. Ingestion holds it from storing
    /// a batch to evaluating it, so the trigger loop cannot fire on that batch in between and leave the batch's own
    /// report saying "no retraining" for a retraining its rows did start.
    /// </summary>
    public async Task<IDisposable> TakeTurnAsync(string model, CancellationToken ct)
    {
        var turn = turns.GetOrAdd(model, _ => new SemaphoreSlim(1, 1));
        await turn.WaitAsync(ct);
        return new Turn(turn);
    }

    /// <summary>Takes the model's turn and evaluates every rule (the trigger loop's pass).</summary>
    public async Task<TriggerOutcome> EvaluateInTurnAsync(string model, CancellationToken ct)
    {
        using var turn = await TakeTurnAsync(model, ct);
        return await EvaluateAsync(model, all: true, ct);
    }

    private sealed class Turn(SemaphoreSlim turn) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0) turn.Release();
        }
    }

    /// <summary>
    /// Evaluates the rules; <paramref name="all"/> false looks only at the data rules (rows, feedback), as ingestion does.
    /// The caller holds the model's turn (<see cref="TakeTurnAsync"/>) or accepts racing another evaluation.
    /// </summary>
    public async Task<TriggerOutcome> EvaluateAsync(string model, bool all, CancellationToken ct)
    {
        if (store.InFlight(model) is { } inFlight) return new TriggerOutcome(null, $"retraining {inFlight} is in flight; the rules wait for it");
        var policy = store.GetPolicy(model);
        var state = store.GetTriggerState(model);
        var notes = new List<string>();
        ModelVersion? champion = null;
        async Task<ModelVersion> Champion() => champion ??= await registry.GetChampionAsync(model, ct);

        var firing = RowsRule(policy, store.PendingRows(model), notes);
        if (firing is null && policy.Feedback is { } feedback) firing = await FeedbackRuleAsync(model, feedback, policy.GateMetric, state, Champion, notes, ct);
        if (firing is null && all && policy.Drift is { } rule) firing = await DriftRuleAsync(model, rule, state, Champion, notes, ct);
        if (firing is null && all && policy.RetrainIntervalSeconds > 0) firing = ScheduleRule(model, policy, state, notes);
        if (firing is null) return new TriggerOutcome(null, notes.Count > 0 ? string.Join("; ", notes) : "no rule is on");

        var version = await Champion();
        var columns = ChampionColumns.From(version)
            ?? throw MeshErrors.FailedPrecondition($"Production version {version.Version} of '{model}' records no feature/label columns; it cannot be retrained.");
        var jobId = await planner.LaunchAsync(model, version, columns, policy, firing, ct);
        if (jobId is null) return new TriggerOutcome(null, $"the {firing.Rule} rule fired but another retraining started first");
        LogFired(logger, model, firing.Rule, firing.Reason, jobId);
        return new TriggerOutcome(jobId, $"{firing.Rule} rule: {firing.Reason}");
    }

    private static TriggerFiring? RowsRule(Policy policy, long pending, List<string> notes)
    {
        if (policy.RetrainAfterRows <= 0)
        {
            notes.Add($"the row rule is off ({pending} rows wait)");
            return null;
        }
        if (pending < policy.RetrainAfterRows)
        {
            notes.Add($"{pending} of {policy.RetrainAfterRows} kept rows since the last training");
            return null;
        }
        return new TriggerFiring(TriggerRules.Rows, $"{pending} kept rows since the last training >= {policy.RetrainAfterRows}",
            new Dictionary<string, string> { ["rows_since_training"] = Show(pending), ["retrain_after_rows"] = Show(policy.RetrainAfterRows) },
            policy.RetrainAfterRows);
    }

    // The champion's metric on the newest feedback window against its own validation score; scored only when new feedback arrived.
    private async Task<TriggerFiring?> FeedbackRuleAsync(string model, FeedbackRule rule, string policyMetric, TriggerState state, Func<Task<ModelVersion>> champion,
        List<string> notes, CancellationToken ct)
    {
        // Every tick asks; only new feedback makes the window worth reading and scoring.
        var latest = store.NewestFeedbackId(model);
        if (latest <= state.FeedbackCheckedId)
        {
            if (latest > 0) notes.Add("no new feedback since the last check");
            return null;
        }
        var (newest, rows) = store.FeedbackWindow(model, rule.WindowRows);
        if (rows.Count < rule.WindowRows)
        {
            store.SetFeedbackChecked(model, newest);
            notes.Add($"{rows.Count} of {rule.WindowRows} feedback rows needed to judge the champion");
            return null;
        }
        var version = await champion();
        if (state.FeedbackFiredChampion == version.Version)
        {
            store.SetFeedbackChecked(model, newest);
            notes.Add($"the feedback rule already fired for version {version.Version}");
            return null;
        }
        var task = ModelTask.Of(version);
        var metric = GateMetrics.Resolve(policyMetric, task);
        if (!GateMetrics.Fits(metric, task)) metric = GateMetrics.Resolve("", task);
        if (GateMetrics.RecordedScore(version, metric) is not { } recorded)
        {
            store.SetFeedbackChecked(model, newest);
            notes.Add($"version {version.Version} records no {metric} to compare feedback with");
            return null;
        }
        MetricScore score;
        try
        {
            score = await gate.ScoreAsync(model, version.Version, rows, metric, task, ct);
        }
        catch (Exception ex) when (ex is ArgumentException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            store.SetFeedbackChecked(model, newest);
            notes.Add($"the feedback rows could not be scored: {ex.Message}");
            return null;
        }
        store.SetFeedbackChecked(model, newest);
        var degradation = GateMetrics.HigherIsBetter(metric) ? recorded.Value - score.Value : score.Value - recorded.Value;
        var details = new Dictionary<string, string>
        {
            ["metric"] = metric,
            ["feedback_score"] = Show(score.Value),
            ["validation_score"] = Show(recorded.Value),
            ["validation_metric"] = recorded.Source,
            ["degradation"] = Show(degradation),
            ["max_degradation"] = Show(rule.MaxDegradation),
            ["feedback_rows"] = Show(score.Rows),
        };
        if (degradation <= rule.MaxDegradation)
        {
            notes.Add($"feedback {metric} {Show(score.Value)} vs validation {Show(recorded.Value)}: degradation {Show(degradation)} <= {Show(rule.MaxDegradation)}");
            return null;
        }
        return new TriggerFiring(TriggerRules.Feedback,
            $"version {version.Version}'s {metric} on the newest {score.Rows} feedback rows is {Show(score.Value)}, {Show(degradation)} worse than its {recorded.Source} {Show(recorded.Value)} (max degradation {Show(rule.MaxDegradation)})",
            details);
    }

    // Checked at most every Updater:DriftCheckSeconds; a timeline entry only when the outcome changes or fires.
    private async Task<TriggerFiring?> DriftRuleAsync(string model, DriftRule rule, TriggerState state, Func<Task<ModelVersion>> champion,
        List<string> notes, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (state.DriftCheckedAt is { } at && now - at < TimeSpan.FromSeconds(options.Value.DriftCheckSeconds) && now >= at)
        {
            notes.Add($"drift was {(state.DriftState.Length > 0 ? state.DriftState : "not yet checked")} at the last check");
            return null;
        }
        var version = await champion();
        var result = await drift.CheckAsync(model, version.Version, rule, ct);
        var outcome = result is null ? "insufficient" : result.Drifted ? "drifted" : "ok";
        var fires = result is { Drifted: true } && state.DriftFiredChampion != version.Version;
        var details = new Dictionary<string, string>
        {
            ["method"] = rule.Method,
            ["threshold"] = Show(rule.Threshold),
            ["window"] = Show(rule.Window),
            ["min_samples"] = Show(rule.MinSamples),
            ["champion_version"] = Show(version.Version),
            ["outcome"] = outcome,
        };
        if (result is not null)
        {
            details["samples"] = Show(result.Samples);
            foreach (var (feature, statistic) in result.StatisticByFeature) details[$"{rule.Method}.{feature}"] = Show(statistic);
        }
        var summary = result is null
            ? $"Drift of version {version.Version}: fewer than {rule.MinSamples} sampled inputs, no decision yet"
            : $"Drift of version {version.Version} ({rule.Method}, threshold {Show(rule.Threshold)}, {result.Samples} samples): {outcome}; {result.Reason}";
        var entry = outcome != state.DriftState || fires ? new BatchNote(summary, details, "") : null;
        store.RecordDriftCheck(model, outcome, now, entry);
        if (!fires)
        {
            notes.Add(result is { Drifted: true } ? $"drift persists but already triggered a retraining of version {version.Version}" : $"drift: {outcome}");
            return null;
        }
        return new TriggerFiring(TriggerRules.Drift, $"live inputs drifted from version {version.Version}'s training data: {result!.Reason}", details);
    }

    private TriggerFiring? ScheduleRule(string model, Policy policy, TriggerState state, List<string> notes)
    {
        var now = time.GetUtcNow();
        if (state.ScheduleAnchor is not { } anchor)
        {
            // The first time the schedule is seen counts as the last training: the updater knows of no earlier one.
            store.SetScheduleAnchor(model, now);
            notes.Add($"the schedule starts now (every {policy.RetrainIntervalSeconds} s)");
            return null;
        }
        var elapsed = (now - anchor).TotalSeconds;
        if (elapsed < policy.RetrainIntervalSeconds)
        {
            notes.Add($"{elapsed:F0} of {policy.RetrainIntervalSeconds} s since the last training");
            return null;
        }
        return new TriggerFiring(TriggerRules.Schedule,
            $"{elapsed.ToString("F0", CultureInfo.InvariantCulture)} s since the last training >= the interval of {policy.RetrainIntervalSeconds} s",
            new Dictionary<string, string>
            {
                ["seconds_since_training"] = elapsed.ToString("F0", CultureInfo.InvariantCulture),
                ["retrain_interval_seconds"] = Show(policy.RetrainIntervalSeconds),
                ["last_training_at"] = anchor.ToString("O", CultureInfo.InvariantCulture),
            });
    }

    private static string Show(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    private static string Show(long value) => value.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retraining {Model}: the {Rule} rule fired ({Reason}); job {JobId}")]
    private static partial void LogFired(ILogger logger, string model, string rule, string reason, string jobId);
}
