using Grpc.Core;
using MaaS.Updater.Tests.Support;
using MaaS.Updater.V1;

namespace MaaS.Updater.Tests;

public sealed class PolicyTests : IDisposable
{
    private readonly UpdaterHost host = new();

    public PolicyTests()
    {
        host.Registry.AddLinear("m", 1, 2, 1);
    }

    private static Policy Valid() => new()
    {
        ModelName = "m",
        RetrainAfterRows = 50,
        HoldoutFraction = 0.2,
        MinImprovement = 0.01,
        GateMetric = "mae",
        MinRelativeImprovement = 0.05,
        ScoreThreshold = 0.5,
        RetrainIntervalSeconds = 3600,
        Drift = new DriftRule { Method = "psi", Threshold = 0.2, Window = 500, MinSamples = 100 },
        Feedback = new FeedbackRule { MaxDegradation = 0.1, WindowRows = 50 },
        TrainingWindowRows = 10_000,
        Rollout = new RolloutPlan { CanarySteps = { 10, 50, 100 }, BakeSeconds = 5, AutoAdvance = true, MaxErrorRateIncrease = 0.01, MaxP99Ratio = 1.5, MinRequests = 20 },
        ColumnRanges = { ["x"] = new ValueRange { Min = -10, Max = 10 } },
    };

    [Fact]
    public async Task SetPolicy_FullPolicy_GetAndListReturnItAsStored()
    {
        await host.Client.SetPolicyAsync(new SetPolicyRequest { Policy = Valid() });

        var got = (await host.Client.GetPolicyAsync(new GetPolicyRequest { ModelName = "m" })).Policy;
        var listed = (await host.Client.ListPoliciesAsync(new ListPoliciesRequest())).Policies;

        Assert.Equal(Valid(), got);
        Assert.Equal(Valid(), Assert.Single(listed));
    }

    [Fact]
    public async Task SetPolicy_AfterRestart_StillStored()
    {
        await host.Client.SetPolicyAsync(new SetPolicyRequest { Policy = Valid() });

        host.Restart();

        Assert.Equal(Valid(), (await host.Client.GetPolicyAsync(new GetPolicyRequest { ModelName = "m" })).Policy);
    }

    [Fact]
    public async Task SetPolicy_RowRuleOff_Accepted()
    {
        var policy = Valid();
        policy.RetrainAfterRows = 0;

        var stored = (await host.Client.SetPolicyAsync(new SetPolicyRequest { Policy = policy })).Policy;

        Assert.Equal(0, stored.RetrainAfterRows);
    }

    [Fact]
    public async Task SetPolicy_UnknownModel_NotFound()
    {
        var policy = Valid();
        policy.ModelName = "nobody";

        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Client.SetPolicyAsync(new SetPolicyRequest { Policy = policy }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task SetPolicy_ModelWithoutProduction_TaskRulesNotChecked()
    {
        host.Registry.AddModel("fresh");
        var policy = Valid();
        policy.ModelName = "fresh";
        policy.GateMetric = "accuracy";
        policy.ColumnRanges.Clear();
        policy.ClearScoreThreshold();

        var stored = (await host.Client.SetPolicyAsync(new SetPolicyRequest { Policy = policy })).Policy;

        Assert.Equal("accuracy", stored.GateMetric);
    }

    [Fact]
    public async Task ListPolicies_NoneStored_Empty()
    {
        Assert.Empty((await host.Client.ListPoliciesAsync(new ListPoliciesRequest())).Policies);
    }

    [Theory]
    [InlineData("model_name", "policy.model_name")]
    [InlineData("retrain_after_rows_1", "policy.retrain_after_rows")]
    [InlineData("retrain_after_rows_negative", "policy.retrain_after_rows")]
    [InlineData("holdout_high", "policy.holdout_fraction")]
    [InlineData("holdout_zero", "policy.holdout_fraction")]
    [InlineData("min_improvement", "policy.min_improvement")]
    [InlineData("min_relative_one", "policy.min_relative_improvement")]
    [InlineData("min_relative_negative", "policy.min_relative_improvement")]
    [InlineData("gate_metric_unknown", "policy.gate_metric")]
    [InlineData("gate_metric_wrong_task", "policy.gate_metric")]
    [InlineData("score_threshold", "policy.score_threshold")]
    [InlineData("interval", "policy.retrain_interval_seconds")]
    [InlineData("training_window", "policy.training_window_rows")]
    [InlineData("drift_method", "policy.drift.method")]
    [InlineData("drift_threshold", "policy.drift.threshold")]
    [InlineData("drift_window", "policy.drift.window")]
    [InlineData("drift_min_samples_low", "policy.drift.min_samples")]
    [InlineData("drift_min_samples_above_window", "policy.drift.min_samples")]
    [InlineData("feedback_degradation", "policy.feedback.max_degradation")]
    [InlineData("feedback_window", "policy.feedback.window_rows")]
    [InlineData("canary_not_increasing", "policy.rollout.canary_steps")]
    [InlineData("canary_not_ending_at_100", "policy.rollout.canary_steps")]
    [InlineData("canary_zero", "policy.rollout.canary_steps")]
    [InlineData("bake_zero_auto", "policy.rollout.bake_seconds")]
    [InlineData("p99_ratio", "policy.rollout.max_p99_ratio")]
    [InlineData("error_rate", "policy.rollout.max_error_rate_increase")]
    [InlineData("shadow_percent", "policy.rollout.shadow_percent")]
    [InlineData("shadow_seconds", "policy.rollout.shadow_seconds")]
    [InlineData("min_requests", "policy.rollout.min_requests")]
    [InlineData("range_inverted", "policy.column_ranges")]
    [InlineData("range_unknown_column", "policy.column_ranges")]
    public async Task SetPolicy_BrokenRule_InvalidArgumentNamingField(string rule, string field)
    {
        var policy = Valid();
        Break(policy, rule);

        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Client.SetPolicyAsync(new SetPolicyRequest { Policy = policy }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(field, ex.Status.Detail);
        // Nothing was stored.
        Assert.Empty((await host.Client.ListPoliciesAsync(new ListPoliciesRequest())).Policies);
    }

    private static void Break(Policy p, string rule)
    {
        switch (rule)
        {
            case "model_name": p.ModelName = "Bad Name"; break;
            case "retrain_after_rows_1": p.RetrainAfterRows = 1; break;
            case "retrain_after_rows_negative": p.RetrainAfterRows = -5; break;
            case "holdout_high": p.HoldoutFraction = 0.9; break;
            case "holdout_zero": p.HoldoutFraction = 0; break;
            case "min_improvement": p.MinImprovement = -1; break;
            case "min_relative_one": p.MinRelativeImprovement = 1; break;
            case "min_relative_negative": p.MinRelativeImprovement = -0.1; break;
            case "gate_metric_unknown": p.GateMetric = "auc"; break;
            case "gate_metric_wrong_task": p.GateMetric = "accuracy"; p.ClearScoreThreshold(); break;
            case "score_threshold": p.ScoreThreshold = -1; break;
            case "interval": p.RetrainIntervalSeconds = -1; break;
            case "training_window": p.TrainingWindowRows = 1; break;
            case "drift_method": p.Drift.Method = "chi2"; break;
            case "drift_threshold": p.Drift.Threshold = 0; break;
            case "drift_window": p.Drift.Window = 5; break;
            case "drift_min_samples_low": p.Drift.MinSamples = 5; break;
            case "drift_min_samples_above_window": p.Drift.MinSamples = 600; break;
            case "feedback_degradation": p.Feedback.MaxDegradation = 0; break;
            case "feedback_window": p.Feedback.WindowRows = 5; break;
            case "canary_not_increasing": p.Rollout.CanarySteps.Clear(); p.Rollout.CanarySteps.Add([50, 10, 100]); break;
            case "canary_not_ending_at_100": p.Rollout.CanarySteps.Clear(); p.Rollout.CanarySteps.Add([10, 50]); break;
            case "canary_zero": p.Rollout.CanarySteps.Clear(); p.Rollout.CanarySteps.Add([0, 100]); break;
            case "bake_zero_auto": p.Rollout.BakeSeconds = 0; break;
            case "p99_ratio": p.Rollout.MaxP99Ratio = 0.5; break;
            case "error_rate": p.Rollout.MaxErrorRateIncrease = 2; break;
            case "shadow_percent": p.Rollout.ShadowPercent = 150; break;
            case "shadow_seconds": p.Rollout.ShadowPercent = 10; p.Rollout.ShadowSeconds = 0; break;
            case "min_requests": p.Rollout.MinRequests = -1; break;
            case "range_inverted": p.ColumnRanges["x"] = new ValueRange { Min = 5, Max = 1 }; break;
            case "range_unknown_column": p.ColumnRanges["z"] = new ValueRange { Min = 0, Max = 1 }; break;
            default: throw new ArgumentException(rule);
        }
    }

    public void Dispose() => host.Dispose();
}
