using Grpc.Core;
using MaaS.Contracts;
using MaaS.Updater.Registry;
using MaaS.Updater.Rollout;
using MaaS.Updater.Storage;
using MaaS.Updater.V1;
using Microsoft.ML.OnnxRuntime;

namespace MaaS.Updater.Gate;

/// <summary>
/// What follows a retraining's ModelTrained: the gate (champion and challenger on the same held-out
/// rows), then the handoff of a challenger that passed: a progressive rollout when the policy has canary
/// steps, else production moves at once. Each step is recorded before the next starts (Training →
/// Handoff → Decided), so a redelivery or a restart resumes where it stopped instead of repeating.
/// </summary>
public sealed partial class GateRunner(
    UpdaterStore store, IRegistryGateway registry, ChampionChallengerGate gate, IRolloutManager rollouts, ILogger<GateRunner> logger)
{
    /// <summary>A job produced <paramref name="version"/>: gate it and hand it off. A job the updater did not start is ignored.</summary>
    public async Task OnTrainedAsync(string jobId, long version, CancellationToken ct)
    {
        var retrain = store.GetRetrain(jobId);
        if (retrain is null) return;
        if (retrain.State == RetrainStates.Training)
        {
            await DecideAsync(retrain, version, ct);
            retrain = store.GetRetrain(jobId)!;
        }
        if (retrain.State == RetrainStates.Handoff) await HandoffAsync(retrain, ct);
    }

    /// <summary>Finishes a handoff a restart or a failed call left undone.</summary>
    public async Task ResumeHandoffAsync(string jobId, CancellationToken ct)
    {
        if (store.GetRetrain(jobId) is { State: RetrainStates.Handoff } retrain) await HandoffAsync(retrain, ct);
    }

    private async Task DecideAsync(RetrainRecord retrain, long version, CancellationToken ct)
    {
        var champion = await registry.GetChampionAsync(retrain.Model, ct);
        var policy = store.GetPolicy(retrain.Model);
        GateDecision decision;
        if (champion.Version == version)
        {
            // A redelivery after production already moved: the promotion happened.
            decision = new GateDecision(GateMetrics.Resolve(policy.GateMetric, ModelTask.Of(champion)), 0, 0, true,
                $"version {version} is already production", new Dictionary<string, string>());
        }
        else
        {
            try
            {
                decision = await gate.EvaluateAsync(retrain.Model, champion, version, retrain.Holdout, policy, ct);
            }
            catch (Exception ex) when (ex is ArgumentException or OnnxRuntimeException)
            {
                // A version that cannot be scored on the held-out rows cannot pass; the champion stays.
                decision = new GateDecision(policy.GateMetric, 0, 0, false, $"the versions could not be scored on the held-out rows: {ex.Message}",
                    new Dictionary<string, string> { ["error"] = ex.Message });
            }
        }
        var record = new Decision
        {
            JobId = retrain.JobId,
            ChampionVersion = champion.Version,
            ChallengerVersion = version,
            Metric = decision.Metric,
            ChampionScore = decision.ChampionScore,
            ChallengerScore = decision.ChallengerScore,
            Promoted = decision.Promoted,
            Reason = decision.Reason,
        };
        var completed = new EvaluationCompleted
        {
            CorrelationId = retrain.CorrelationId,
            ModelName = retrain.Model,
            ChampionVersion = record.ChampionVersion,
            ChallengerVersion = record.ChallengerVersion,
            Metric = record.Metric,
            ChampionScore = record.ChampionScore,
            ChallengerScore = record.ChallengerScore,
            Promoted = record.Promoted,
            Reason = record.Reason,
        };
        if (store.RecordDecision(record, retrain.Model, completed, decision.Details))
        {
            LogDecided(logger, retrain.Model, version, champion.Version, decision.Metric, decision.Promoted, decision.Reason);
        }
    }

    private async Task HandoffAsync(RetrainRecord retrain, CancellationToken ct)
    {
        var model = retrain.Model;
        var version = retrain.ChallengerVersion;
        var champion = (await registry.GetChampionAsync(model, ct)).Version;
        if (champion == version)
        {
            store.FinishHandoff(retrain.JobId, true, $"version {version} is production");
            return;
        }
        var plan = store.GetPolicy(model).Rollout;
        if (plan is { CanarySteps.Count: > 0 })
        {
            if (rollouts.Current(model) is { } current && current.ChallengerVersion == version && current.State is not ("rolled_back" or "aborted"))
            {
                // Started before a restart or a redelivery: nothing to repeat.
                store.FinishHandoff(retrain.JobId, true, $"rollout {current.Id} runs");
                return;
            }
            try
            {
                var rollout = await rollouts.StartAsync(model, champion, version, plan, $"challenger of {retrain.JobId} passed the gate", retrain.CorrelationId, ct);
                store.FinishHandoff(retrain.JobId, true, $"rollout {rollout.Id} started");
                LogRolloutStarted(logger, model, version, champion, rollout.Id);
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.FailedPrecondition or StatusCode.InvalidArgument or StatusCode.NotFound)
            {
                store.FinishHandoff(retrain.JobId, false, $"the rollout could not start: {ex.Status.Detail}");
                LogHandoffFailed(logger, model, version, ex.Status.Detail);
            }
            return;
        }
        await registry.PromoteAsync(model, version, $"gate passed ({retrain.JobId})", ct);
        store.FinishHandoff(retrain.JobId, true, $"production moved from {champion} to {version}");
        LogPromoted(logger, model, version, champion);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Gate for {Model}: challenger {Challenger} vs champion {Champion} on {Metric}: passed={Passed} ({Reason})")]
    private static partial void LogDecided(ILogger logger, string model, long challenger, long champion, string metric, bool passed, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Production of {Model} moved from {Champion} to {Challenger}")]
    private static partial void LogPromoted(ILogger logger, string model, long challenger, long champion);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout {RolloutId} of {Model}: {Challenger} against {Champion}")]
    private static partial void LogRolloutStarted(ILogger logger, string model, long challenger, long champion, string rolloutId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The challenger {Challenger} of {Model} passed the gate but its rollout could not start: {Reason}")]
    private static partial void LogHandoffFailed(ILogger logger, string model, long challenger, string reason);
}
