using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Data;
using MaaS.Testing;
using MaaS.Trainer.Tests.Support;
using MaaS.Trainer.Training;
using MaaS.Trainer.V1;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Tests;

/// <summary>The parsed-dataset cache: jobs on the same content skip the download, new content is downloaded, the cache can be off.</summary>
public sealed class DatasetCacheTests
{
    [Fact]
    public async Task SubmitJob_SameDatasetTwice_DownloadsOnceAndTrainsTheSameModel()
    {
        await using var factory = new TrainerFactory();
        var dataset = factory.Registry.AddDataset("line", TestData.Line(2, 1));
        var client = factory.Client();

        var first = await Run(client, TestData.Spec(model: "twice", dataset: "line"));
        var second = await Run(client, TestData.Spec(model: "twice", dataset: "line"));

        Assert.Equal(JobState.Succeeded, first.State);
        Assert.Equal(JobState.Succeeded, second.State);
        Assert.Equal(1, factory.Registry.DatasetDownloads);
        Assert.Equal(first.Metrics["train_loss"], second.Metrics["train_loss"]);
        Assert.Equal(dataset.Digest, factory.Registry.Version("twice", 2)!.Value.Version.Lineage.DatasetDigest);
    }

    [Fact]
    public async Task SubmitJob_NewDatasetVersion_DownloadsAndTrainsOnTheNewContent()
    {
        await using var factory = new TrainerFactory();
        factory.Registry.AddDataset("line", TestData.Line(2, 1));
        var client = factory.Client();
        await Run(client, TestData.Spec(model: "moving", dataset: "line"));
        var newer = factory.Registry.AddDataset("line", TestData.Line(-3, 4));

        var job = await Run(client, TestData.Spec(model: "moving", dataset: "line"));

        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal(2, factory.Registry.DatasetDownloads);
        var lineage = factory.Registry.Version("moving", 2)!.Value.Version.Lineage;
        Assert.Equal(2, lineage.DatasetVersion);
        Assert.Equal(newer.Digest, lineage.DatasetDigest);
    }

    [Fact]
    public async Task SubmitJob_CacheOff_DownloadsEveryTime()
    {
        await using var factory = new TrainerFactory(null, new Dictionary<string, string?> { ["Trainer:DatasetCacheMegabytes"] = "0" });
        factory.Registry.AddDataset("line", TestData.Line(2, 1));
        var client = factory.Client();

        await Run(client, TestData.Spec(model: "uncached", dataset: "line"));
        var job = await Run(client, TestData.Spec(model: "uncached", dataset: "line"));

        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal(2, factory.Registry.DatasetDownloads);
    }

    [Fact]
    public void Add_PastCapacity_EvictsTheLeastRecentlyUsed()
    {
        // 1 MiB holds two tables of 1,000 rows x 50 columns (~432 KB each) but not three.
        var cache = new DatasetCache(Options.Create(new TrainerOptions { DatasetCacheMegabytes = 1 }));
        var (a, b, c) = (Info("a"), Info("b"), Info("c"));
        cache.Add(a, Table(1000, 50));
        cache.Add(b, Table(1000, 50));
        Assert.NotNull(cache.Get(a));

        cache.Add(c, Table(1000, 50));

        Assert.NotNull(cache.Get(a));
        Assert.Null(cache.Get(b));
        Assert.NotNull(cache.Get(c));
    }

    [Fact]
    public void Get_SameDigestOtherFormatOrNoDigest_Misses()
    {
        var cache = new DatasetCache(Options.Create(new TrainerOptions()));
        cache.Add(Info("a", "csv"), Table(10, 2));
        cache.Add(Info("", "csv"), Table(10, 2));

        Assert.NotNull(cache.Get(Info("a", "")));
        Assert.Null(cache.Get(Info("a", "parquet")));
        Assert.Null(cache.Get(Info("", "csv")));
    }

    [Fact]
    public void EffectiveTorchThreads_ZeroOrSet_SplitsCoresOrTakesTheValue()
    {
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), new TrainerOptions { MaxConcurrentJobs = 2 }.EffectiveTorchThreads);
        Assert.Equal(1, new TrainerOptions { MaxConcurrentJobs = 64 }.EffectiveTorchThreads);
        Assert.Equal(3, new TrainerOptions { TorchThreads = 3, MaxConcurrentJobs = 8 }.EffectiveTorchThreads);
    }

    [Fact]
    public async Task Start_NegativeTorchThreads_RefusedWithTheKey()
    {
        var output = await StartupRefusal.RunAsync("services/MaaS.Trainer", new Dictionary<string, string> { ["Trainer:TorchThreads"] = "-1" });

        Assert.Contains("Trainer:TorchThreads", output);
    }

    private static DatasetVersion Info(string digest, string format = "csv") => new() { Name = "d", Version = 1, Digest = digest, Format = format };

    private static NumericTable Table(int rows, int columns) => new(
        Enumerable.Range(0, columns).Select(c => $"c{c}").ToList(),
        Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, columns).Select(c => (double)(r + c)).ToArray()).ToList());

    private static async Task<Job> Run(TrainerService.TrainerServiceClient client, TrainingSpec spec)
    {
        var id = (await client.SubmitJobAsync(new SubmitJobRequest { Spec = spec })).JobId;
        using var call = client.WatchJob(new WatchJobRequest { JobId = id }, deadline: DateTime.UtcNow.AddMinutes(3));
        Job last = null!;
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) last = call.ResponseStream.Current.Job;
        return last;
    }
}
