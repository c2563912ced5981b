using Grpc.Core;
using MaaS.Contracts;
using MaaS.Trainer.Tests.Support;
using MaaS.Trainer.V1;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using static MaaS.Trainer.Tests.Support.JobCalls;

namespace MaaS.Trainer.Tests;

/// <summary>Persistence, cancellation, listing, progress and redelivery, each on a trainer of its own.</summary>
public sealed class TrainerLifecycleTests
{
    // A linear job long enough (≈ a minute) to be caught running; progress every 10,000 epochs.
    private static TrainingSpec LongSpec(string model, string dataset) => TestData.Spec(model: model, dataset: dataset, epochs: 1_000_000, learningRate: 0.01);

    // One job slot; epochs up to a million so that LongSpec runs long enough (~a minute) to be caught running.
    private static readonly Dictionary<string, string?> OneSlot = new()
    {
        ["Trainer:MaxConcurrentJobs"] = "1", ["Trainer:ReplicaId"] = "replica-t", ["Trainer:MaxEpochs"] = "1000000",
    };

    [Fact]
    public async Task CancelJob_QueuedThenRunning_BothCancelledAndEndedJobRefused()
    {
        await using var factory = new TrainerFactory(null, OneSlot);
        factory.Registry.AddDataset("line", TestData.Line(2, 1));
        var client = factory.Client();
        var running = await Submit(client, LongSpec("long", "line"));
        await WaitFor(client, running, j => j.State == JobState.Running && j.EpochsDone > 0);
        var queued = await Submit(client, TestData.Spec(model: "waiting", dataset: "line"));

        var cancelledQueued = (await client.CancelJobAsync(new CancelJobRequest { JobId = queued })).Job;
        await client.CancelJobAsync(new CancelJobRequest { JobId = running });
        var end = (await WatchToEnd(client, running))[^1];

        Assert.Equal(JobState.Cancelled, cancelledQueued.State);
        Assert.Equal(JobState.Cancelled, end.State);
        Assert.InRange(end.EpochsDone, 1, 999_999);
        Assert.Contains("Cancelled", end.Message);
        Assert.Equal(0, end.RegisteredVersion);
        Assert.Null(factory.Registry.Version("long", 1));
        var again = await Assert.ThrowsAsync<RpcException>(() => client.CancelJobAsync(new CancelJobRequest { JobId = running }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        var harness = factory.Services.GetTestHarness();
        Assert.True(await harness.Published.Any<TrainingJobStateChanged>(m => m.Context.Message.JobId == queued && m.Context.Message.State == "Cancelled"));
        Assert.True(await harness.Published.Any<TrainingJobStateChanged>(m => m.Context.Message.JobId == running && m.Context.Message.State == "Cancelled"));
    }

    [Fact]
    public async Task CancelJob_UnknownOrEmptyId_NotFoundOrInvalidArgument()
    {
        await using var factory = new TrainerFactory();
        var client = factory.Client();

        var unknown = await Assert.ThrowsAsync<RpcException>(() => client.CancelJobAsync(new CancelJobRequest { JobId = "job-nope" }).ResponseAsync);
        var empty = await Assert.ThrowsAsync<RpcException>(() => client.CancelJobAsync(new CancelJobRequest()).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
    }

    [Fact]
    public async Task Restart_SameDataDirectory_RunningJobInterruptedQueuedJobRuns()
    {
        var directory = TrainerFactory.NewDataDirectory();
        try
        {
            string running, queued;
            await using (var first = new TrainerFactory(directory, OneSlot))
            {
                first.Registry.AddDataset("line", TestData.Line(2, 1));
                var client = first.Client();
                running = await Submit(client, LongSpec("long", "line"));
                await WaitFor(client, running, j => j.State == JobState.Running);
                queued = await Submit(client, TestData.Spec(model: "after", dataset: "line"));
            }

            await using var second = new TrainerFactory(directory, OneSlot);
            second.Registry.AddDataset("line", TestData.Line(2, 1));
            var again = second.Client();
            var interrupted = (await again.GetJobAsync(new GetJobRequest { JobId = running })).Job;
            var resumed = (await WatchToEnd(again, queued))[^1];

            Assert.Equal(JobState.Failed, interrupted.State);
            Assert.Equal("interrupted: the trainer restarted during the job", interrupted.Message);
            Assert.Equal("replica-t", interrupted.ReplicaId);
            Assert.Equal(JobState.Succeeded, resumed.State);
            Assert.NotNull(second.Registry.Version("after", 1));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task ListJobs_ModelStateAndPaging_NewestFirst()
    {
        await using var factory = new TrainerFactory();
        factory.Registry.AddDataset("line", TestData.Line(2, 1));
        factory.Registry.AddDataset("no-label", "a,b\n1,2\n3,4\n");
        var client = factory.Client();
        var a1 = await Submit(client, TestData.Spec(model: "list-a", dataset: "line", epochs: 10));
        var b1 = await Submit(client, TestData.Spec(model: "list-b", dataset: "line", epochs: 10));
        var a2 = await Submit(client, TestData.Spec(model: "list-a", dataset: "no-label", epochs: 10));
        var a3 = await Submit(client, TestData.Spec(model: "list-a", dataset: "line", epochs: 10));
        foreach (var id in new[] { a1, b1, a2, a3 }) await WatchToEnd(client, id);

        var all = await client.ListJobsAsync(new ListJobsRequest { ModelName = "list-a" });
        var failed = await client.ListJobsAsync(new ListJobsRequest { ModelName = "list-a", State = JobState.Failed });
        var page1 = await client.ListJobsAsync(new ListJobsRequest { ModelName = "list-a", PageSize = 2 });
        var page2 = await client.ListJobsAsync(new ListJobsRequest { ModelName = "list-a", PageSize = 2, PageToken = page1.NextPageToken });
        var succeeded = await client.ListJobsAsync(new ListJobsRequest { State = JobState.Succeeded });

        Assert.Equal([a3, a2, a1], all.Jobs.Select(j => j.JobId));
        Assert.Equal([a2], failed.Jobs.Select(j => j.JobId));
        Assert.Equal([a3, a2], page1.Jobs.Select(j => j.JobId));
        Assert.Equal([a1], page2.Jobs.Select(j => j.JobId));
        Assert.Equal("", page2.NextPageToken);
        Assert.Equal([a3, b1, a1], succeeded.Jobs.Select(j => j.JobId));
        Assert.Equal(10, all.Jobs[0].Spec.Epochs);
        var bad = await Assert.ThrowsAsync<RpcException>(() => client.ListJobsAsync(new ListJobsRequest { PageSize = 501 }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Contains("page_size", bad.Status.Detail);
    }

    [Fact]
    public async Task WatchJob_ValidationSplit_StreamsProgressAndKeepsHistory()
    {
        await using var factory = new TrainerFactory();
        factory.Registry.AddDataset("line", TestData.Line(2, 1));
        var client = factory.Client();
        // Long enough (a second or two) that the watch sees the job running between two of the progress
        // writes, which the trainer spaces at least 200 ms apart.
        var spec = TestData.Spec(model: "progress", dataset: "line", epochs: 30_000);
        spec.ValidationSplit = 0.2;
        var id = await Submit(client, spec);

        var states = await WatchToEnd(client, id);
        var history = (await client.GetJobAsync(new GetJobRequest { JobId = id })).History;

        var last = states[^1];
        Assert.Equal(JobState.Succeeded, last.State);
        Assert.Equal(30_000, last.Progress.Epoch);
        Assert.Equal(30_000, last.Progress.Epochs);
        Assert.True(last.Progress.HasValidationLoss);
        Assert.True(double.IsFinite(last.Progress.TrainLoss));
        Assert.Equal(0.1, last.Progress.Metrics["learning_rate"], 6);
        Assert.NotNull(last.Progress.Elapsed);
        Assert.Equal(TimeSpan.Zero, last.Progress.Eta.ToTimeSpan());
        Assert.NotNull(last.StartedAt);
        Assert.Contains(states, s => s.State == JobState.Running && s.Progress is { Epoch: > 0 and < 30_000 });
        Assert.Equal(Enumerable.Range(1, 100).Select(i => i * 300), history.Select(h => h.Epoch));
        Assert.All(history, h => Assert.True(h.HasValidationLoss));

        var harness = factory.Services.GetTestHarness();
        Assert.True(await harness.Published.Any<TrainingProgressed>(m => m.Context.Message.JobId == id && m.Context.Message.Epoch == 30_000));
        var progressed = harness.Published.Select<TrainingProgressed>(new CancellationToken(canceled: true))
            .Where(m => m.Context.Message.JobId == id).ToList();
        // Throttled: far fewer events than the hundred reports, the last epoch among them.
        Assert.InRange(progressed.Count, 1, 99);
    }

    [Fact]
    public async Task TrainModelCommand_RedeliveredWithTheSameJobId_RunsOnce()
    {
        await using var factory = new TrainerFactory(null, OneSlot);
        factory.Registry.AddDataset("line", TestData.Line(2, 1));
        var client = factory.Client();
        var harness = factory.Services.GetTestHarness();
        var command = new TrainModel { JobId = "dup-1", ModelName = "dup", DatasetName = "line", LabelColumn = "y", Epochs = 200, LearningRate = 0.1 };
        var anonymous = new TrainModel { ModelName = "dup-anon", DatasetName = "line", LabelColumn = "y", Epochs = 200, LearningRate = 0.1 };

        await harness.Bus.Publish(command);
        await harness.Bus.Publish(command with { });
        await harness.Bus.Publish(anonymous);
        await harness.Bus.Publish(anonymous with { });

        Assert.True(await harness.Consumed.Any<TrainModel>(m => m.Context.Message.ModelName == "dup-anon"));
        await WaitUntil(() => harness.Consumed.Select<TrainModel>(new CancellationToken(canceled: true)).Count() >= 4);
        var job = (await client.GetJobAsync(new GetJobRequest { JobId = "dup-1" })).Job;
        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal("replica-t", job.ReplicaId);
        Assert.NotNull(factory.Registry.Version("dup", 1));
        Assert.Null(factory.Registry.Version("dup", 2));
        Assert.NotNull(factory.Registry.Version("dup-anon", 1));
        Assert.Null(factory.Registry.Version("dup-anon", 2));
        var listed = await client.ListJobsAsync(new ListJobsRequest { ModelName = "dup-anon" });
        Assert.Equal("job-" + anonymous.EventId.ToString("N"), Assert.Single(listed.Jobs).JobId);
    }

    [Fact]
    public async Task TrainModelCommand_MessageTokenCancelledMidJob_JobStillSucceeds()
    {
        await using var factory = new TrainerFactory(null, OneSlot);
        factory.Registry.AddDataset("line", TestData.Line(2, 1));
        var client = factory.Client();
        using var scope = factory.Services.CreateScope();
        var consumer = scope.ServiceProvider.GetRequiredService<MaaS.Trainer.Consumers.TrainModelConsumer>();
        using var brokerGone = new CancellationTokenSource();
        var command = new TrainModel { JobId = "outage-1", ModelName = "outage", DatasetName = "line", LabelColumn = "y", Epochs = 30_000, LearningRate = 0.1 };

        // The broker's connection drops while the job runs: the message's token fires.
        var consuming = consumer.Consume(MessageOnlyContext<TrainModel>.Create(command, brokerGone.Token));
        await WaitUntil(() => client.ListJobs(new ListJobsRequest { ModelName = "outage" }).Jobs.Any(j => j.State is JobState.Running or JobState.Succeeded));
        await brokerGone.CancelAsync();
        await consuming;

        var job = (await client.GetJobAsync(new GetJobRequest { JobId = "outage-1" })).Job;
        Assert.Equal(JobState.Succeeded, job.State);
        Assert.NotNull(factory.Registry.Version("outage", 1));
    }

    [Fact]
    public async Task Job_LossBecomesInfinite_FailsAsDivergedWithoutAVersion()
    {
        await using var factory = new TrainerFactory();
        factory.Registry.AddDataset("steep", TestData.Line(1000, 0));
        var client = factory.Client();

        var job = (await WatchToEnd(client, await Submit(client, TestData.Spec(model: "steep", dataset: "steep", learningRate: 10))))[^1];

        Assert.Equal(JobState.Failed, job.State);
        Assert.Contains("diverged", job.Message);
        Assert.Null(factory.Registry.Version("steep", 1));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++) await Task.Delay(100);
        Assert.True(condition());
    }
}
