using MaaS.ServiceDefaults;
using MaaS.Updater.Gate;
using MaaS.Updater.Retraining;
using MaaS.Updater.V1;

namespace MaaS.Updater.Policies;

/// <summary>
/// The rules of a policy. Each broken rule is InvalidArgument naming the field. Rules that depend on
/// the model (metric fits the task, ranged columns exist) are checked only when the model has a
/// production version to judge by.
/// </summary>
public static class PolicyValidator
{
    /// <summary>Most rows a training window or feedback window may name.</summary>
    public const int MaxWindowRows = 10_000_000;

    /// <summary>Throws InvalidArgument for the first broken rule.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="task">The champion's task; null when the model has no production version yet.</param>
    /// <param name="columns">The champion's columns; null when unknown.</param>
    public static void Validate(Policy policy, ModelTask? task, ChampionColumns? columns)
    {
        // 0 turns the row rule off (the model then retrains on its other rules, or only when asked);
        // 1 cannot work: one row cannot be split into training and held-out rows.
        if (policy.RetrainAfterRows != 0 && policy.RetrainAfterRows < 2)
        {
            Fail("policy.retrain_after_rows must be 0 (rule off) or at least 2 (one row to train on, one to hold out).", policy.RetrainAfterRows);
        }
        if (!(policy.HoldoutFraction > 0 && policy.HoldoutFraction <= 0.5))
        {
            Fail("policy.holdout_fraction must be in (0, 0.5].", policy.HoldoutFraction);
        }
        if (!(policy.MinImprovement >= 0 && double.IsFinite(policy.MinImprovement)))
        {
            Fail("policy.min_improvement must be a finite number >= 0.", policy.MinImprovement);
        }
        if (!(policy.MinRelativeImprovement >= 0 && policy.MinRelativeImprovement < 1))
        {
            Fail("policy.min_relative_improvement must be in [0, 1).", policy.MinRelativeImprovement);
        }
        ValidateMetric(policy, task);
        if (policy.RetrainIntervalSeconds < 0)
        {
            Fail("policy.retrain_interval_seconds must be >= 0 (0 = no schedule).", policy.RetrainIntervalSeconds);
        }
        if (policy.TrainingWindowRows != 0 && (policy.TrainingWindowRows < 2 || policy.TrainingWindowRows > MaxWindowRows))
        {
            Fail($"policy.training_window_rows must be 0 (all rows) or in [2, {MaxWindowRows}].", policy.TrainingWindowRows);
        }
        if (policy.Drift is { } drift) ValidateDrift(drift);
        if (policy.Feedback is { } feedback)
        {
            if (!(feedback.MaxDegradation > 0 && double.IsFinite(feedback.MaxDegradation)))
            {
                Fail("policy.feedback.max_degradation must be a finite number > 0.", feedback.MaxDegradation);
            }
            if (feedback.WindowRows < 10 || feedback.WindowRows > MaxWindowRows)
            {
                Fail($"policy.feedback.window_rows must be in [10, {MaxWindowRows}].", feedback.WindowRows);
            }
        }
        if (policy.Rollout is { } rollout) ValidatePlan(rollout, "policy.rollout");
        foreach (var (column, range) in policy.ColumnRanges)
        {
            if (range is null || double.IsNaN(range.Min) || double.IsNaN(range.Max) || range.Min > range.Max)
            {
                throw MeshErrors.InvalidArgument(
                    $"policy.column_ranges['{column}'] must have min <= max (numbers, not NaN); got [{range?.Min}, {range?.Max}].");
            }
            if (columns is not null && !columns.All.Contains(column))
            {
                throw MeshErrors.InvalidArgument(
                    $"policy.column_ranges names column '{column}', which the production version does not have ([{string.Join(", ", columns.All)}]).");
            }
        }
    }

    /// <summary>The rules of a rollout plan (also used for a plan given to StartRollout).</summary>
    public static void ValidatePlan(RolloutPlan plan, string field)
    {
        if (plan.ShadowPercent is < 0 or > 100) Fail($"{field}.shadow_percent must be in [0, 100].", plan.ShadowPercent);
        if (plan.ShadowSeconds < 0) Fail($"{field}.shadow_seconds must be >= 0.", plan.ShadowSeconds);
        if (plan.ShadowPercent > 0 && plan.ShadowSeconds <= 0) Fail($"{field}.shadow_seconds must be > 0 when shadow_percent is set.", plan.ShadowSeconds);
        var steps = plan.CanarySteps;
        if (plan.ShadowPercent > 0 && steps.Count == 0)
        {
            throw MeshErrors.InvalidArgument($"{field}.canary_steps must not be empty when a shadow phase is set (the rollout needs steps after it).");
        }
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i] is < 1 or > 100 || (i > 0 && steps[i] <= steps[i - 1]))
            {
                throw MeshErrors.InvalidArgument(
                    $"{field}.canary_steps must be strictly increasing percentages in [1, 100] ending at 100; got [{string.Join(", ", steps)}].");
            }
        }
        if (steps.Count > 0 && steps[^1] != 100)
        {
            throw MeshErrors.InvalidArgument($"{field}.canary_steps must end at 100; got [{string.Join(", ", steps)}].");
        }
        if (plan.BakeSeconds < 0) Fail($"{field}.bake_seconds must be >= 0.", plan.BakeSeconds);
        if (plan.AutoAdvance && plan.BakeSeconds < 1) Fail($"{field}.bake_seconds must be >= 1 when auto_advance is on.", plan.BakeSeconds);
        if (!(plan.MaxErrorRateIncrease >= 0 && plan.MaxErrorRateIncrease <= 1))
        {
            Fail($"{field}.max_error_rate_increase must be in [0, 1].", plan.MaxErrorRateIncrease);
        }
        if (!(plan.MaxP99Ratio == 0 || (plan.MaxP99Ratio >= 1 && double.IsFinite(plan.MaxP99Ratio))))
        {
            Fail($"{field}.max_p99_ratio must be 0 (not checked) or a finite number >= 1.", plan.MaxP99Ratio);
        }
        if (plan.MinRequests < 0) Fail($"{field}.min_requests must be >= 0.", plan.MinRequests);
    }

    private static void ValidateMetric(Policy policy, ModelTask? task)
    {
        var metric = policy.GateMetric;
        if (metric.Length > 0 && !GateMetrics.All.Contains(metric))
        {
            throw MeshErrors.InvalidArgument($"policy.gate_metric must be one of {string.Join(", ", GateMetrics.All)} (or empty for the task's default); got '{metric}'.");
        }
        if (metric.Length > 0 && task is not null && !GateMetrics.Fits(metric, task))
        {
            var fitting = task.IsClassification ? GateMetrics.ForClassification : GateMetrics.ForRegression;
            throw MeshErrors.InvalidArgument(
                $"policy.gate_metric '{metric}' does not score the production version's task {task.Name}; use one of {string.Join(", ", fitting)}.");
        }
        if (!policy.HasScoreThreshold) return;
        var t = policy.ScoreThreshold;
        var effective = metric.Length > 0 ? metric : task is null ? "" : GateMetrics.Resolve("", task);
        var ok = double.IsFinite(t) && effective switch
        {
            GateMetrics.Accuracy or GateMetrics.F1 => t is >= 0 and <= 1,
            GateMetrics.R2 => t <= 1,
            GateMetrics.Mse or GateMetrics.Mae or GateMetrics.LogLoss => t >= 0,
            _ => true,
        };
        if (!ok)
        {
            throw MeshErrors.InvalidArgument(
                $"policy.score_threshold {t} is impossible for {(effective.Length > 0 ? effective : "the metric")} (errors are >= 0, accuracy and f1 in [0, 1], r2 <= 1).");
        }
    }

    private static void ValidateDrift(DriftRule drift)
    {
        if (drift.Method is not ("psi" or "ks")) throw MeshErrors.InvalidArgument($"policy.drift.method must be psi or ks; got '{drift.Method}'.");
        if (!(drift.Threshold > 0 && double.IsFinite(drift.Threshold))) Fail("policy.drift.threshold must be a finite number > 0.", drift.Threshold);
        if (drift.Window is < 10 or > 100_000) Fail("policy.drift.window must be in [10, 100000].", drift.Window);
        if (drift.MinSamples < 10 || drift.MinSamples > drift.Window)
        {
            Fail($"policy.drift.min_samples must be in [10, window = {drift.Window}].", drift.MinSamples);
        }
    }

    private static void Fail(string rule, object got) =>
        throw MeshErrors.InvalidArgument($"{rule.TrimEnd('.')}; got {Convert.ToString(got, System.Globalization.CultureInfo.InvariantCulture)}.");
}
