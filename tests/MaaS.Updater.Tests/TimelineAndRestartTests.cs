using MassTransit;
using MaaS.Contracts;
using MaaS.Updater.Storage;
using MaaS.Updater.Tests.Support;
using MaaS.Updater.Triggers;
using MaaS.Updater.V1;

namespace MaaS.Updater.Tests;

public sealed class TimelineAndRestartTests : IDisposable
{
    private readonly UpdaterHost host = new();

    public TimelineAndRestartTests()
    {
        host.Registry.AddLinear("m", 1, 2, 0);
    }

    private async Task<GetUpdateStatusResponse> Status() => await host.Client.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = "m" });

    [Fact]
    public async Task ExplainModel_OneUpdateOverTheBus_EntriesInOrderLinkedByCorrelationId()
    {
        await host.SetPolicy(p => p.RetrainAfterRows = 10);
        await host.IngestLine(0, 10);
        var job = (await Status()).LastJobId;
        host.Registry.AddLinear("m", 2, 2, 1, production: false);
        var bus = host.Get<IBus>();

        await bus.Publish(new TrainingJobStateChanged { JobId = job, ModelName = "m", State = "Running", CorrelationId = job });
        await Scenario.Eventually(async () => (await host.Timeline()).Any(e => e.Kind == "training"));
        await bus.Publish(new ModelTrained { JobId = job, ModelName = "m", Version = 2, CorrelationId = job });
        await Scenario.Eventually(async () => (await Status()).Decisions.Count == 1 && !(await Status()).Retraining);
        await bus.Publish(new AliasMoved { ModelName = "m", Alias = "production", FromVersion = 1, ToVersion = 2, Actor = "updater", Reason = "gate passed" });
        await Scenario.Eventually(async () => (await host.Timeline()).Any(e => e.Kind == "alias_moved"));

        var entries = await host.Timeline();
        Assert.Equal(["data_ingested", "retrain_triggered", "training", "training", "gate", "alias_moved"], entries.Select(e => e.Kind));
        Assert.All(entries.Skip(1), e => Assert.Equal(job, e.CorrelationId));
        Assert.Equal("rows", entries[1].Details["rule"]);
        Assert.Equal("Running", entries[2].Details["state"]);
        Assert.Equal("2", entries[3].Details["version"]);
        Assert.Equal(("true", "mse"), (entries[4].Details["promoted"], entries[4].Details["metric"]));
        Assert.Equal("2", entries[5].Details["to_version"]);
    }

    [Fact]
    public async Task ExplainModel_EventDeliveredTwice_OneEntry()
    {
        var moved = new AliasMoved { ModelName = "m", Alias = "production", FromVersion = 1, ToVersion = 3, Actor = "ops" };
        var bus = host.Get<IBus>();

        await bus.Publish(moved);
        await bus.Publish(moved);
        await bus.Publish(new AliasMoved { ModelName = "m", Alias = "staging", ToVersion = 3 });
        await Scenario.Eventually(async () => (await host.Timeline()).Any(e => e.Details["alias"] == "staging"));
        await Scenario.Eventually(async () => (await host.Timeline()).Count(e => e.Details["alias"] == "production") >= 1);

        Assert.Single(await host.Timeline(), e => e.Details["alias"] == "production");
    }

    [Fact]
    public async Task Restart_RetrainingInFlight_SurvivesAndIsGatedAfterwards()
    {
        await host.SetPolicy(p => p.RetrainAfterRows = 10);
        await host.IngestLine(0, 10);
        var job = (await Status()).LastJobId;

        host.Restart();
        host.Registry.AddLinear("m", 2, 2, 1, production: false);
        await host.Get<IBus>().Publish(new ModelTrained { JobId = job, ModelName = "m", Version = 2, CorrelationId = job });
        // Decided first, production moves right after: wait for both.
        await Scenario.Eventually(async () => await Status() is { Decisions.Count: 1, Retraining: false });

        Assert.True((await Status()).Decisions[0].Promoted);
        Assert.Equal(2, host.Registry.Production("m"));
    }

    [Fact]
    public async Task Restart_WhilePreparing_RetrainingFailedAndRowsCountAgain()
    {
        await host.SetPolicy();
        await host.IngestLine(0, 10);
        host.Get<UpdaterStore>().TryReserveRows("m", 0, "job-cut", 1, ["x", "y"]);
        Assert.True((await Status()).Retraining);

        host.Restart();
        await host.Get<TriggerLoop>().RecoverAsync(CancellationToken.None);

        var status = await Status();
        Assert.False(status.Retraining);
        Assert.Equal(10, status.RowsSinceTraining);
        Assert.Contains("restarted", (await host.Timeline()).Last(e => e.Kind == "training").Summary);
    }

    [Fact]
    public async Task Restart_AfterGatePassedBeforeProductionMoved_HandoffResumes()
    {
        await host.SetPolicy();
        await host.IngestLine(0, 10);
        var job = (await host.Client.TriggerRetrainAsync(new TriggerRetrainRequest { ModelName = "m" })).JobId;
        host.Registry.AddLinear("m", 2, 2, 1, production: false);
        // The gate's record is written, then the process stops before production moves.
        host.Get<UpdaterStore>().RecordDecision(
            new Decision { JobId = job, ChampionVersion = 1, ChallengerVersion = 2, Metric = "mse", ChampionScore = 1, ChallengerScore = 0, Promoted = true, Reason = "better" },
            "m", new EvaluationCompleted { ModelName = "m", CorrelationId = job, Promoted = true });
        Assert.True((await Status()).Retraining);

        host.Restart();
        await host.Get<TriggerLoop>().RecoverAsync(CancellationToken.None);

        Assert.Equal(2, host.Registry.Production("m"));
        Assert.False((await Status()).Retraining);
    }

    [Fact]
    public async Task TriggerLoop_TrainedVersionNeverArrives_FailsItAfterTimeoutAndRetrainsWaitingRows()
    {
        await host.SetPolicy(p => p.RetrainAfterRows = 10);
        await host.IngestLine(0, 10);
        var lost = (await Status()).LastJobId;
        await host.IngestLine(100, 10);

        host.Clock.Now += TimeSpan.FromMinutes(361);
        await host.Get<TriggerLoop>().TickAsync(CancellationToken.None);

        var status = await Status();
        Assert.NotEqual(lost, status.LastJobId);
        Assert.True(status.Retraining);
        Assert.Equal("20", host.Events<RetrainTriggered>().Last().Details["new_rows"]);
        Assert.Contains("Updater:RetrainTimeoutMinutes", (await host.Timeline()).Single(e => e.Kind == "training").Summary);
    }

    [Fact]
    public void Store_PolicyWrittenBeforeJson_StillReadable()
    {
        using (var connection = host.Get<UpdaterDatabase>().Open())
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "INSERT INTO policies (model, retrain_after_rows, holdout_fraction, min_improvement, updated_at) VALUES ('old', 40, 0.3, 0.02, '2025-01-01')";
            cmd.ExecuteNonQuery();
        }

        var policy = host.Get<UpdaterStore>().GetPolicy("old");

        Assert.Equal((40L, 0.3, 0.02, ""), (policy.RetrainAfterRows, policy.HoldoutFraction, policy.MinImprovement, policy.GateMetric));
    }

    public void Dispose() => host.Dispose();
}
