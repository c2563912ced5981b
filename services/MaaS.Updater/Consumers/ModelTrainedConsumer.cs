using MassTransit;
using MaaS.Contracts;
using MaaS.Updater.Gate;
using MaaS.Updater.Registry;
using MaaS.Updater.Storage;
using MaaS.Updater.V1;

namespace MaaS.Updater.Consumers;

/// <summary>
/// A retraining finished: score challenger and champion on the held-out rows and move production
/// when the challenger wins. A job the updater did not start, or one already decided, is ignored,
/// so redelivery is harmless.
/// </summary>
public sealed partial class ModelTrainedConsumer(
    UpdaterStore store, RegistryGateway registry, ChampionChallengerGate gate, ILogger<ModelTrainedConsumer> logger) : IConsumer<ModelTrained>
{
    /// <inheritdoc />
    public async Task Consume(ConsumeContext<ModelTrained> context)
    {
        var trained = context.Message;
        var retrain = store.GetRetrain(trained.JobId);
        if (retrain is null || retrain.State != RetrainStates.Training) return;

        var ct = context.CancellationToken;
        var champion = (await registry.GetChampionAsync(retrain.Model, ct)).Version;
        GateDecision decision;
        if (champion == trained.Version)
        {
            // A redelivery after the alias already moved: the promotion happened.
            decision = new GateDecision(0, 0, true, $"version {trained.Version} is already production");
        }
        else
        {
            var policy = store.GetPolicy(retrain.Model);
            decision = await gate.EvaluateAsync(retrain.Model, champion, trained.Version, retrain.Holdout, policy.MinImprovement, ct);
            if (decision.Promoted)
            {
                await registry.PromoteAsync(retrain.Model, trained.Version, $"gate passed: {decision.Reason}", ct);
            }
        }

        var record = new Decision
        {
            JobId = trained.JobId,
            ChampionVersion = champion,
            ChallengerVersion = trained.Version,
            Metric = GateDecision.Metric,
            ChampionScore = decision.ChampionScore,
            ChallengerScore = decision.ChallengerScore,
            Promoted = decision.Promoted,
            Reason = decision.Reason,
        };
        store.RecordDecision(record, retrain.Model, Announce(record, retrain.Model, trained.CorrelationId));
        LogDecided(logger, retrain.Model, trained.Version, champion, decision.Promoted, decision.Reason);
    }

    private static EvaluationCompleted Announce(Decision decision, string model, string correlationId) => new()
    {
        CorrelationId = correlationId,
        ModelName = model,
        ChampionVersion = decision.ChampionVersion,
        ChallengerVersion = decision.ChallengerVersion,
        Metric = decision.Metric,
        ChampionScore = decision.ChampionScore,
        ChallengerScore = decision.ChallengerScore,
        Promoted = decision.Promoted,
        Reason = decision.Reason,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Gate for {Model}: challenger {Challenger} vs champion {Champion}: promoted={Promoted} ({Reason})")]
    private static partial void LogDecided(ILogger logger, string model, long challenger, long champion, bool promoted, string reason);
}
