using Grpc.Core;
using MaaS.Contracts;
using MaaS.Updater.Gate;
using MaaS.Updater.Tests.Support;
using MaaS.Updater.V1;

namespace MaaS.Updater.Tests;

/// <summary>From a finished retraining to the gate's decision and what follows it, with real ONNX scoring.</summary>
public sealed class GateFlowTests : IDisposable
{
    private readonly UpdaterHost host = new();

    private async Task<string> Retrain(Action<Policy>? policy = null)
    {
        await host.SetPolicy(policy);
        await host.IngestLine(0, 20);
        return (await host.Client.TriggerRetrainAsync(new TriggerRetrainRequest { ModelName = "m", Reason = "test" })).JobId;
    }

    private Task Trained(string job, long version) => host.Get<GateRunner>().OnTrainedAsync(job, version, CancellationToken.None);

    private async Task<GetUpdateStatusResponse> Status() => await host.Client.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = "m" });

    [Fact]
    public async Task Gate_BetterChallengerNoRolloutPlan_ProductionMovesAtOnce()
    {
        host.Registry.AddLinear("m", 1, 2, 0);              // 1 off everywhere: mse 1
        var job = await Retrain(p => p.MinImprovement = 0.5);
        host.Registry.AddLinear("m", 2, 2, 1, production: false); // exact: mse 0

        await Trained(job, 2);

        Assert.Equal(2, host.Registry.Production("m"));
        var decision = Assert.Single((await Status()).Decisions);
        Assert.Equal((1L, 2L, "mse", true), (decision.ChampionVersion, decision.ChallengerVersion, decision.Metric, decision.Promoted));
        Assert.Equal(1.0, decision.ChampionScore, 6);
        Assert.Equal(0.0, decision.ChallengerScore, 6);
        var completed = Assert.Single(host.Events<EvaluationCompleted>());
        Assert.Equal((true, job), (completed.Promoted, completed.CorrelationId));
        Assert.False((await Status()).Retraining);
    }

    [Fact]
    public async Task Gate_WorseChallenger_ChampionUntouchedAndReasonSaysWhy()
    {
        host.Registry.AddLinear("m", 1, 2, 0);
        var job = await Retrain();
        host.Registry.AddLinear("m", 2, 2, 3, production: false); // 2 off: mse 4

        await Trained(job, 2);

        Assert.Equal(1, host.Registry.Production("m"));
        Assert.Empty(host.Rollouts.Started);
        var decision = Assert.Single((await Status()).Decisions);
        Assert.False(decision.Promoted);
        Assert.Contains("not better", decision.Reason);
        Assert.False(Assert.Single(host.Events<EvaluationCompleted>()).Promoted);
    }

    [Fact]
    public async Task Gate_RelativeMarginMissed_NotPromoted()
    {
        host.Registry.AddLinear("m", 1, 2, 0);                  // mse 1
        var job = await Retrain(p => p.MinRelativeImprovement = 0.9);
        host.Registry.AddLinear("m", 2, 2, 0.5f, production: false); // mse 0.25: 0.75 better, 0.9 needed

        await Trained(job, 2);

        var decision = Assert.Single((await Status()).Decisions);
        Assert.False(decision.Promoted);
        Assert.Contains("relative margin", decision.Reason);
    }

    [Fact]
    public async Task Gate_PassedWithCanaryPlan_HandsPlanToRolloutManagerAndLeavesProduction()
    {
        host.Registry.AddLinear("m", 1, 2, 0);
        var plan = new RolloutPlan { CanarySteps = { 10, 50, 100 }, BakeSeconds = 2, AutoAdvance = true, MaxP99Ratio = 2 };
        var job = await Retrain(p => p.Rollout = plan);
        host.Registry.AddLinear("m", 2, 2, 1, production: false);

        await Trained(job, 2);

        var started = Assert.Single(host.Rollouts.Started);
        Assert.Equal(("m", 1L, 2L, plan, job), (started.Model, started.Champion, started.Challenger, started.Plan, started.CorrelationId));
        Assert.Equal(1, host.Registry.Production("m"));
        var status = await Status();
        Assert.True(Assert.Single(status.Decisions).Promoted);
        Assert.Equal("rollout-1", status.Rollout.Id);
        Assert.False(status.Retraining);
    }

    [Fact]
    public async Task Gate_RolloutRefused_DecisionSaysNotPromotedAndWhy()
    {
        host.Registry.AddLinear("m", 1, 2, 0);
        var job = await Retrain(p => p.Rollout = new RolloutPlan { CanarySteps = { 100 } });
        host.Registry.AddLinear("m", 2, 2, 1, production: false);
        host.Rollouts.Refuse = new RpcException(new Status(StatusCode.FailedPrecondition, "a rollout of m is running"));

        await Trained(job, 2);

        var decision = Assert.Single((await Status()).Decisions);
        Assert.False(decision.Promoted);
        Assert.Contains("a rollout of m is running", decision.Reason);
        Assert.Equal(1, host.Registry.Production("m"));
    }

    [Fact]
    public async Task Gate_ClassifierOnF1_ScoresProbabilityOutput()
    {
        // Label: x >= 10. The champion's boundary sits at 0 (calls everything 1), the challenger's at 9.5.
        host.Registry.AddBinary("m", 1, 1, 0);
        await host.SetPolicy(p => p.GateMetric = "f1");
        var request = new IngestRowsRequest { ModelName = "m", Columns = { "x", "y" } };
        for (var i = 0; i < 40; i++)
        {
            var row = new Row();
            row.Values.Add([i * 0.5, i * 0.5 >= 10 ? 1 : 0]);
            request.Rows.Add(row);
        }
        await host.Client.IngestRowsAsync(request);
        var job = (await host.Client.TriggerRetrainAsync(new TriggerRetrainRequest { ModelName = "m" })).JobId;
        host.Registry.AddBinary("m", 2, 4, -39, production: false);

        await Trained(job, 2);

        var decision = Assert.Single((await Status()).Decisions);
        Assert.Equal(("f1", true), (decision.Metric, decision.Promoted));
        Assert.Equal(1.0, decision.ChallengerScore, 6);
        Assert.True(decision.ChampionScore < 0.7);
        Assert.Equal(2, host.Registry.Production("m"));
    }

    [Fact]
    public async Task Gate_Redelivered_DecidesOnce()
    {
        host.Registry.AddLinear("m", 1, 2, 0);
        var job = await Retrain();
        host.Registry.AddLinear("m", 2, 2, 1, production: false);

        await Trained(job, 2);
        await Trained(job, 2);

        Assert.Single((await Status()).Decisions);
        Assert.Single(host.Registry.Promotions);
    }

    [Fact]
    public async Task Gate_JobNotStartedByUpdater_Ignored()
    {
        host.Registry.AddLinear("m", 1, 2, 0);

        await Trained("someone-elses-job", 2);

        Assert.Empty((await Status()).Decisions);
    }

    public void Dispose() => host.Dispose();
}
