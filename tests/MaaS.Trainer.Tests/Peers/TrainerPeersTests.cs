using Grpc.Core;
using MaaS.Contracts;
using MaaS.Testing;
using MaaS.Trainer.Tests.Support;
using MaaS.Trainer.V1;
using MassTransit.Testing;
using static MaaS.Trainer.Tests.Support.JobCalls;

namespace MaaS.Trainer.Tests.Peers;

/// <summary>
/// Two in-process replicas, a and b, listing each other in Trainer:Peers: each answers about the other's jobs
/// (get, watch, cancel, list), forwarded calls stay local, and a peer that does not answer is skipped.
/// </summary>
public sealed class TrainerPeersTests
{
    private static readonly Dictionary<string, string?> OneSlot = new()
    {
        ["Trainer:MaxConcurrentJobs"] = "1", ["Trainer:MaxEpochs"] = "1000000",
    };

    private static readonly Metadata ForwardedHeader = new() { { "x-maas-trainer-forwarded", "1" } };

    [Fact]
    public async Task GetJob_JobOfPeer_AnsweredWithItsHistory()
    {
        await using var network = new PeerNetwork();
        var a = network.Add("a", [PeerNetwork.Address("b")]);
        var b = network.Add("b", [PeerNetwork.Address("a")]);
        b.Registry.AddDataset("line", TestData.Line(2, 1));
        var onB = b.Client();
        var jobId = await Submit(onB, TestData.Spec(model: "peer-get", dataset: "line", epochs: 50));
        await WatchToEnd(onB, jobId);

        var got = await a.Client().GetJobAsync(new GetJobRequest { JobId = jobId });

        Assert.Equal(jobId, got.Job.JobId);
        Assert.Equal(JobState.Succeeded, got.Job.State);
        Assert.Equal("b", got.Job.ReplicaId);
        Assert.NotEmpty(got.History);
        Assert.Equal(50, got.History[^1].Epoch);
    }

    [Fact]
    public async Task WatchJob_JobOfPeer_RelayedToItsEnd()
    {
        await using var network = new PeerNetwork();
        var a = network.Add("a", [PeerNetwork.Address("b")]);
        var b = network.Add("b", [PeerNetwork.Address("a")]);
        b.Registry.AddDataset("line", TestData.Line(2, 1));
        var jobId = await Submit(b.Client(), TestData.Spec(model: "peer-watch", dataset: "line", epochs: 200));

        var seen = await WatchToEnd(a.Client(), jobId);

        Assert.All(seen, j => Assert.Equal(jobId, j.JobId));
        Assert.Equal(JobState.Succeeded, seen[^1].State);
        Assert.Equal(200, seen[^1].EpochsDone);
        Assert.True(seen[^1].RegisteredVersion > 0);
        Assert.NotNull(b.Registry.Version("peer-watch", 1));
    }

    [Fact]
    public async Task CancelJob_QueuedAndRunningJobsOfPeer_ForwardedToTheOwner()
    {
        await using var network = new PeerNetwork();
        var a = network.Add("a", [PeerNetwork.Address("b")]);
        var b = network.Add("b", [PeerNetwork.Address("a")], OneSlot);
        b.Registry.AddDataset("line", TestData.Line(2, 1));
        var onA = a.Client();
        var onB = b.Client();
        var running = await Submit(onB, TestData.Spec(model: "peer-long", dataset: "line", epochs: 1_000_000, learningRate: 0.01));
        await WaitFor(onA, running, j => j.State == JobState.Running && j.EpochsDone > 0);
        var queued = await Submit(onB, TestData.Spec(model: "peer-waiting", dataset: "line"));

        var cancelledQueued = (await onA.CancelJobAsync(new CancelJobRequest { JobId = queued })).Job;
        await onA.CancelJobAsync(new CancelJobRequest { JobId = running });
        var end = (await WatchToEnd(onA, running))[^1];
        var again = await Assert.ThrowsAsync<RpcException>(() => onA.CancelJobAsync(new CancelJobRequest { JobId = running }).ResponseAsync);

        Assert.Equal(JobState.Cancelled, cancelledQueued.State);
        Assert.Equal(JobState.Cancelled, (await onB.GetJobAsync(new GetJobRequest { JobId = queued })).Job.State);
        Assert.Equal(JobState.Cancelled, end.State);
        Assert.Equal(0, end.RegisteredVersion);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        Assert.Contains("already ended", again.Status.Detail);
    }

    [Fact]
    public async Task TrainModelCommand_RedeliveredToAReplicaWhosePeerHoldsTheJob_NotTrainedAgain()
    {
        await using var network = new PeerNetwork();
        var a = network.Add("a", [PeerNetwork.Address("b")]);
        var b = network.Add("b", [PeerNetwork.Address("a")]);
        a.Registry.AddDataset("line", TestData.Line(2, 1));
        b.Registry.AddDataset("line", TestData.Line(2, 1));
        var command = new TrainModel { JobId = "redo-1", ModelName = "redo", DatasetName = "line", LabelColumn = "y", Epochs = 50, LearningRate = 0.1 };
        var onB = b.Services.GetTestHarness();
        await onB.Bus.Publish(command);
        Assert.True(await onB.Consumed.Any<TrainModel>(m => m.Context.Message.JobId == "redo-1"));
        await WaitFor(b.Client(), "redo-1", j => j.State == JobState.Succeeded);

        var onA = a.Services.GetTestHarness();
        await onA.Bus.Publish(command with { });
        Assert.True(await onA.Consumed.Any<TrainModel>(m => m.Context.Message.JobId == "redo-1"));

        Assert.NotNull(b.Registry.Version("redo", 1));
        Assert.Null(a.Registry.Version("redo", 1));
        var local = await Assert.ThrowsAsync<RpcException>(() =>
            a.Client().GetJobAsync(new GetJobRequest { JobId = "redo-1" }, ForwardedHeader).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, local.StatusCode);
        Assert.Equal("b", (await a.Client().GetJobAsync(new GetJobRequest { JobId = "redo-1" })).Job.ReplicaId);
    }

    [Fact]
    public async Task ListJobs_JobsOnBothReplicas_MergedNewestFirstAcrossPages()
    {
        await using var network = new PeerNetwork();
        var a = network.Add("a", [PeerNetwork.Address("b")]);
        var b = network.Add("b", [PeerNetwork.Address("a")]);
        // Jobs that fail at once (no label column): listing needs jobs, not training.
        a.Registry.AddDataset("no-label", "a,b\n1,2\n3,4\n");
        b.Registry.AddDataset("no-label", "a,b\n1,2\n3,4\n");
        var onA = a.Client();
        var onB = b.Client();
        var submitted = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            submitted.Add(await Submit(i % 2 == 0 ? onA : onB, TestData.Spec(model: "peer-list", dataset: "no-label", epochs: 5)));
        }
        var other = await Submit(onB, TestData.Spec(model: "peer-list-other", dataset: "no-label", epochs: 5));

        var pages = new List<ListJobsResponse>();
        var token = "";
        do
        {
            var page = await onA.ListJobsAsync(new ListJobsRequest { ModelName = "peer-list", PageSize = 2, PageToken = token });
            pages.Add(page);
            token = page.NextPageToken;
        }
        while (token.Length > 0 && pages.Count < 10);
        var all = await onB.ListJobsAsync(new ListJobsRequest());
        var localOnly = await onA.ListJobsAsync(new ListJobsRequest { ModelName = "peer-list" }, ForwardedHeader);

        var newestFirst = Enumerable.Reverse(submitted).ToList();
        Assert.Equal(newestFirst, pages.SelectMany(p => p.Jobs).Select(j => j.JobId));
        Assert.Equal(5, pages.Count);
        Assert.All(pages.Take(4), p => Assert.Equal(2, p.Jobs.Count));
        Assert.Equal([other, .. newestFirst], all.Jobs.Select(j => j.JobId));
        Assert.Equal("", all.NextPageToken);
        Assert.Equal(newestFirst.Where((_, i) => i % 2 == 0), localOnly.Jobs.Select(j => j.JobId));
        Assert.All(localOnly.Jobs, j => Assert.Equal("a", j.ReplicaId));
    }

    [Fact]
    public async Task ListJobs_MalformedOrNumericToken_InvalidArgument()
    {
        await using var network = new PeerNetwork();
        var a = network.Add("a", [PeerNetwork.Address("b")]);
        network.Add("b", []);

        foreach (var token in new[] { "5", "c1.", "c1.!!", "c1.AAAA" })
        {
            var bad = await Assert.ThrowsAsync<RpcException>(() => a.Client().ListJobsAsync(new ListJobsRequest { PageToken = token }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
            Assert.Contains("page_token must be the next_page_token of an earlier answer", bad.Status.Detail);
        }
    }

    [Fact]
    public async Task GetJobWatchCancel_JobNowhere_NotFoundSayingNoReplicaHasIt()
    {
        await using var network = new PeerNetwork();
        var a = network.Add("a", [PeerNetwork.Address("b")]);
        network.Add("b", [PeerNetwork.Address("a")]);
        var onA = a.Client();

        var get = await Assert.ThrowsAsync<RpcException>(() => onA.GetJobAsync(new GetJobRequest { JobId = "job-nowhere" }).ResponseAsync);
        var cancel = await Assert.ThrowsAsync<RpcException>(() => onA.CancelJobAsync(new CancelJobRequest { JobId = "job-nowhere" }).ResponseAsync);
        var watch = await Assert.ThrowsAsync<RpcException>(() => WatchToEnd(onA, "job-nowhere"));

        foreach (var error in new[] { get, cancel, watch })
        {
            Assert.Equal(StatusCode.NotFound, error.StatusCode);
            Assert.Contains("not known to any trainer replica (asked this one and 1 peer(s))", error.Status.Detail);
        }
    }

    [Fact]
    public async Task GetJob_ForwardedCallForPeersJob_AnsweredLocallyOnly()
    {
        await using var network = new PeerNetwork();
        var a = network.Add("a", [PeerNetwork.Address("b")]);
        var b = network.Add("b", [PeerNetwork.Address("a")]);
        b.Registry.AddDataset("no-label", "a,b\n1,2\n3,4\n");
        var jobId = await Submit(b.Client(), TestData.Spec(model: "peer-forwarded", dataset: "no-label", epochs: 5));

        var forwarded = await Assert.ThrowsAsync<RpcException>(() => a.Client().GetJobAsync(new GetJobRequest { JobId = jobId }, ForwardedHeader).ResponseAsync);
        var direct = await a.Client().GetJobAsync(new GetJobRequest { JobId = jobId });

        Assert.Equal(StatusCode.NotFound, forwarded.StatusCode);
        Assert.Contains("not known to this trainer", forwarded.Status.Detail);
        Assert.Equal(jobId, direct.Job.JobId);
    }

    [Fact]
    public async Task GetJobAndListJobs_OnePeerUnreachable_AnsweredFromTheOthers()
    {
        var closed = $"http://127.0.0.1:{FreePorts.One()}";
        await using var network = new PeerNetwork();
        var a = network.Add("a", [closed, PeerNetwork.Address("b")]);
        var b = network.Add("b", []);
        a.Registry.AddDataset("no-label", "a,b\n1,2\n3,4\n");
        b.Registry.AddDataset("no-label", "a,b\n1,2\n3,4\n");
        var onA = a.Client();
        var local = await Submit(onA, TestData.Spec(model: "peer-gone", dataset: "no-label", epochs: 5));
        var remote = await Submit(b.Client(), TestData.Spec(model: "peer-gone", dataset: "no-label", epochs: 5));

        var gotLocal = await onA.GetJobAsync(new GetJobRequest { JobId = local });
        var gotRemote = await onA.GetJobAsync(new GetJobRequest { JobId = remote });
        var listed = await onA.ListJobsAsync(new ListJobsRequest { ModelName = "peer-gone" });
        var missing = await Assert.ThrowsAsync<RpcException>(() => onA.GetJobAsync(new GetJobRequest { JobId = "job-nowhere" }).ResponseAsync);

        Assert.Equal(local, gotLocal.Job.JobId);
        Assert.Equal(remote, gotRemote.Job.JobId);
        Assert.Equal([remote, local], listed.Jobs.Select(j => j.JobId));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("asked this one and 2 peer(s); 1 of them did not answer", missing.Status.Detail);
    }

    [Fact]
    public async Task Start_PeerNotAnHttpAddress_RefusedNamingTheEntry()
    {
        var output = await StartupRefusal.RunAsync("services/MaaS.Trainer", new Dictionary<string, string>
        {
            ["Services:Registry"] = "http://127.0.0.1:1",
            ["Trainer:Peers:0"] = "http://127.0.0.1:7002",
            ["Trainer:Peers:1"] = "ftp://trainer-1:7002",
        });

        Assert.Contains("Trainer:Peers:1 must be the absolute http(s) address", output);
        Assert.DoesNotContain("Trainer:Peers:0", output);
    }
}
