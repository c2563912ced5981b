using Grpc.Core;
using MaaS.Contracts;
using MaaS.Updater.Drift;
using MaaS.Updater.Tests.Support;
using MaaS.Updater.Triggers;
using MaaS.Updater.V1;

namespace MaaS.Updater.Tests;

public sealed class TriggerTests : IDisposable
{
    private readonly UpdaterHost host = new();

    public TriggerTests()
    {
        host.Registry.AddLinear("m", 1, 2, 1);
    }

    private Task<TriggerOutcome> Tick() => host.Get<TriggerEvaluator>().EvaluateAsync("m", all: true, CancellationToken.None);

    [Fact]
    public async Task IngestRows_ThresholdReached_RetrainsWarmStartedOnChampionAndNewRows()
    {
        await host.SetPolicy(p => p.RetrainAfterRows = 10);
        Assert.False((await host.IngestLine(100, 9)).RetrainTriggered);

        var report = await host.IngestLine(200, 1);

        Assert.True(report.RetrainTriggered);
        Assert.Contains("rows rule", report.TriggerReason);
        var triggered = Assert.Single(host.Events<RetrainTriggered>());
        Assert.Equal(("rows", "10", "10"), (triggered.Rule, triggered.Details["rows_since_training"], triggered.Details["retrain_after_rows"]));
        var command = Assert.Single(host.Events<TrainModel>());
        Assert.Equal((1L, triggered.JobId, triggered.JobId), (command.WarmStartVersion, command.JobId, command.CorrelationId));
        // Training data: the champion's 10 rows and the 8 new rows not held out.
        var training = host.Registry.Uploads.Single(u => u.Dataset.Name == "m-retrain");
        Assert.Equal(18, training.Table.Rows.Count);
        Assert.Equal((command.DatasetName, command.DatasetVersion), (training.Dataset.Name, training.Dataset.Version));
        var status = await host.Client.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = "m" });
        Assert.True(status.Retraining);
        Assert.Equal(0, status.RowsSinceTraining);
    }

    [Fact]
    public async Task IngestRows_RetrainingInFlight_RulesWaitAndManualIsRefused()
    {
        await host.SetPolicy(p => p.RetrainAfterRows = 10);
        await host.IngestLine(0, 10);

        var report = await host.IngestLine(100, 10);
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Client.TriggerRetrainAsync(new TriggerRetrainRequest { ModelName = "m" }).ResponseAsync);

        Assert.False(report.RetrainTriggered);
        Assert.Contains("in flight", report.TriggerReason);
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Single(host.Events<RetrainTriggered>());
    }

    [Fact]
    public async Task IngestRows_RetrainingFailed_WaitingRowsTriggerAgainOnNextEvaluation()
    {
        await host.SetPolicy(p => p.RetrainAfterRows = 10);
        await host.IngestLine(0, 10);
        var first = host.Events<RetrainTriggered>().Single().JobId;
        await host.IngestLine(100, 10);

        host.Get<MaaS.Updater.Storage.UpdaterStore>().FailRetrain(first, "training Failed: out of memory");
        var outcome = await Tick();

        Assert.NotNull(outcome.JobId);
        Assert.Equal("20", host.Events<RetrainTriggered>()[1].Details["rows_since_training"]);
    }

    [Fact]
    public async Task TriggerRetrain_Manual_RecordsReasonAndJob()
    {
        await host.SetPolicy();

        var job = (await host.Client.TriggerRetrainAsync(new TriggerRetrainRequest { ModelName = "m", Reason = "new quarter" })).JobId;

        var triggered = Assert.Single(host.Events<RetrainTriggered>());
        Assert.Equal((job, "manual", "new quarter"), (triggered.JobId, triggered.Rule, triggered.Details["requested_reason"]));
        // No new rows: the gate holds out part of the champion's rows instead.
        Assert.Equal("all_rows", triggered.Details["holdout_from"]);
        var entry = (await host.Timeline()).Single(e => e.Kind == "retrain_triggered");
        Assert.Equal(("manual", job), (entry.Details["rule"], entry.CorrelationId));
    }

    [Fact]
    public async Task TriggerRetrain_UnknownModel_NotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Client.TriggerRetrainAsync(new TriggerRetrainRequest { ModelName = "nobody" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task Evaluate_ScheduleIntervalPassed_RetrainsWithElapsedSeconds()
    {
        await host.SetPolicy(p => p.RetrainIntervalSeconds = 60);

        var first = await Tick();
        host.Clock.Now += TimeSpan.FromSeconds(30);
        var early = await Tick();
        host.Clock.Now += TimeSpan.FromSeconds(31);
        var due = await Tick();

        Assert.Null(first.JobId);
        Assert.Null(early.JobId);
        Assert.NotNull(due.JobId);
        var triggered = Assert.Single(host.Events<RetrainTriggered>());
        Assert.Equal(("schedule", "61", "60"), (triggered.Rule, triggered.Details["seconds_since_training"], triggered.Details["retrain_interval_seconds"]));
    }

    [Fact]
    public async Task IngestRows_FeedbackDegradedPastLimit_RetrainsWithTheNumbers()
    {
        // The champion (val_mse 0) meets feedback that is 3 off: mse 9, degradation 9 > 1.
        await host.SetPolicy(p => p.Feedback = new FeedbackRule { MaxDegradation = 1, WindowRows = 10 });

        var partial = await host.IngestLine(0, 5, b: 4, feedback: true);
        var report = await host.IngestLine(5, 5, b: 4, feedback: true);

        Assert.False(partial.RetrainTriggered);
        Assert.Contains("5 of 10 feedback rows", partial.TriggerReason);
        Assert.True(report.RetrainTriggered);
        var triggered = Assert.Single(host.Events<RetrainTriggered>());
        Assert.Equal(("feedback", "mse", "9", "0"), (triggered.Rule, triggered.Details["metric"], triggered.Details["feedback_score"], triggered.Details["validation_score"]));
        Assert.Equal("9", triggered.Details["degradation"]);
    }

    [Fact]
    public async Task IngestRows_FeedbackWithinLimit_NoRetrain()
    {
        await host.SetPolicy(p => p.Feedback = new FeedbackRule { MaxDegradation = 1, WindowRows = 10 });

        var report = await host.IngestLine(0, 10, b: 1.5, feedback: true);

        Assert.False(report.RetrainTriggered);
        Assert.Contains("degradation 0.25 <= 1", report.TriggerReason);
        // Feedback rows are training data too.
        Assert.Equal(10, report.RowsSinceTraining);
    }

    [Fact]
    public async Task Evaluate_Drift_RecordsChangesOnlyAndRetrainsOnceWhenDrifted()
    {
        await host.SetPolicy(p => p.Drift = new DriftRule { Method = "psi", Threshold = 0.2, Window = 100, MinSamples = 50 });
        var ok = new DriftResult(false, "psi", 0.2, 80, new Dictionary<string, double> { ["x"] = 0.05 }, "x psi 0.05 <= 0.2");
        var drifted = new DriftResult(true, "psi", 0.2, 100, new Dictionary<string, double> { ["x"] = 0.6 }, "x psi 0.6 > 0.2");

        host.Drift.Result = null;
        await Tick();
        await Tick(); // within Updater:DriftCheckSeconds: not checked again
        host.Drift.Result = ok;
        host.Clock.Now += TimeSpan.FromSeconds(6);
        await Tick();
        host.Clock.Now += TimeSpan.FromSeconds(6);
        await Tick(); // same outcome: no entry
        host.Drift.Result = drifted;
        host.Clock.Now += TimeSpan.FromSeconds(6);
        var fired = await Tick();

        Assert.Equal(4, host.Drift.Calls);
        Assert.NotNull(fired.JobId);
        var checks = (await host.Timeline()).Where(e => e.Kind == "drift_checked").Select(e => e.Details["outcome"]);
        Assert.Equal(["insufficient", "ok", "drifted"], checks);
        var triggered = Assert.Single(host.Events<RetrainTriggered>());
        Assert.Equal(("drift", "0.6"), (triggered.Rule, triggered.Details["psi.x"]));
    }

    [Fact]
    public async Task Evaluate_DriftPersistsAfterItsRetraining_DoesNotRetrainTheSameChampionAgain()
    {
        await host.SetPolicy(p => p.Drift = new DriftRule { Method = "ks", Threshold = 0.1, Window = 100, MinSamples = 50 });
        host.Drift.Result = new DriftResult(true, "ks", 0.1, 100, new Dictionary<string, double> { ["x"] = 0.4 }, "x ks 0.4 > 0.1");
        var job = (await Tick()).JobId!;
        host.Get<MaaS.Updater.Storage.UpdaterStore>().FailRetrain(job, "training Failed: boom");

        host.Clock.Now += TimeSpan.FromSeconds(6);
        var again = await Tick();

        Assert.Null(again.JobId);
        Assert.Contains("already triggered", again.Reason);
    }

    public void Dispose() => host.Dispose();
}
