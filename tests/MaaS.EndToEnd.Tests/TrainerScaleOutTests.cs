using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using MaaS.Contracts;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using MassTransit;

namespace MaaS.EndToEnd.Tests;

/// <summary>
/// Issue 5's scale-out over the real broker: two trainer replicas compete for TrainModel commands on one durable
/// queue; every job runs on exactly one replica, exactly once, and both replicas take work. Each replica has the
/// other as its peer, so either one answers about every job.
/// </summary>
public sealed class TrainerScaleOutTests(TrainerScaleOutMesh mesh) : IClassFixture<TrainerScaleOutMesh>
{
    private const string Model = "scale-out-line";
    private const int Jobs = 6;

    [Fact]
    public async Task TrainModel_SixCommandsTwoReplicas_EachJobSucceedsOnceAndBothReplicasRunJobs()
    {
        using var registryChannel = GrpcChannel.ForAddress(mesh.Registry);
        var registry = new RegistryService.RegistryServiceClient(registryChannel);
        var dataset = await UploadLineAsync(registry, "scale-out-line-data");
        var channels = mesh.Trainers.ToDictionary(t => t.Key, t => GrpcChannel.ForAddress(t.Value));
        var trainers = channels.ToDictionary(c => c.Key, c => new TrainerService.TrainerServiceClient(c.Value));
        var ids = Enumerable.Range(1, Jobs).Select(i => $"scale-out-{i}").ToList();

        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)mesh.AmqpPort, "/", h =>
        {
            h.Username("guest");
            h.Password("guest");
        }));
        await bus.StartAsync(TimeSpan.FromSeconds(60));
        try
        {
            // Sent to the queue itself (a command, not an event): it waits there even if a replica's consumer is still binding.
            var queue = await bus.GetSendEndpoint(new Uri("queue:trainer-train-model"));
            foreach (var id in ids)
            {
                await queue.Send(new TrainModel
                {
                    JobId = id, ModelName = Model, DatasetName = dataset.Name, DatasetVersion = dataset.Version,
                    FeatureColumns = ["x"], LabelColumn = "y", Architecture = "linear_regression", Optimizer = "sgd", Loss = "mse",
                    Epochs = 2000, LearningRate = 0.1, Seed = 42, CorrelationId = id,
                });
            }
        }
        finally
        {
            await bus.StopAsync(TimeSpan.FromSeconds(30));
        }

        // Wait until each job has ended on some replica.
        var holders = new Dictionary<string, List<(string Replica, Job Job)>>();
        var deadline = DateTime.UtcNow.AddMinutes(4);
        while (true)
        {
            holders = await HoldersAsync(trainers, ids);
            if (ids.All(id => holders[id].Count > 0 && holders[id].All(h => IsEnded(h.Job.State)))) break;
            Assert.True(DateTime.UtcNow < deadline, $"jobs not ended after 4 minutes: {Describe(holders)}\n--- trainer-a ---\n{mesh.Log("trainer-a")}\n--- trainer-b ---\n{mesh.Log("trainer-b")}");
            await Task.Delay(500);
        }
        // A redelivered command would surface as a second job or version a moment later; give it that moment.
        await Task.Delay(TimeSpan.FromSeconds(3));
        holders = await HoldersAsync(trainers, ids);

        foreach (var id in ids)
        {
            var (replica, job) = Assert.Single(holders[id]);
            Assert.True(job.State == JobState.Succeeded, $"{id} on {replica} ended {job.State}: {job.Message}");
            Assert.Equal(replica, job.ReplicaId);
            Assert.True(job.RegisteredVersion > 0);
        }
        var replicasThatRan = holders.Values.Select(h => h[0].Replica).Distinct().Order().ToList();
        Assert.True(replicasThatRan.SequenceEqual(["a", "b"]), $"only {string.Join(",", replicasThatRan)} ran jobs: {Describe(holders)}");

        var versions = (await registry.ListVersionsAsync(new ListVersionsRequest { ModelName = Model })).Versions;
        Assert.Equal(Jobs, versions.Count);
        Assert.Equal(ids.Order(), versions.Select(v => v.Lineage.TrainingJobId).Order());
        Assert.Equal(versions.Select(v => v.Version).Order(), holders.Values.Select(h => h[0].Job.RegisteredVersion).Order());

        // Each replica's own list agrees: its jobs of the model, all succeeded, together the six.
        var listed = new List<string>();
        foreach (var (replica, client) in trainers)
        {
            var jobs = (await client.ListJobsAsync(new ListJobsRequest { ModelName = Model }, LocalOnly)).Jobs;
            Assert.All(jobs, j => Assert.Equal((replica, JobState.Succeeded), (j.ReplicaId, j.State)));
            listed.AddRange(jobs.Select(j => j.JobId));
        }
        Assert.Equal(ids.Order(), listed.Order());

        // Through its peer, replica a answers about every job, also those b ran, and lists all six, newest first.
        var a = trainers["a"];
        foreach (var id in ids)
        {
            var got = (await a.GetJobAsync(new GetJobRequest { JobId = id })).Job;
            Assert.Equal((id, JobState.Succeeded, holders[id][0].Replica), (got.JobId, got.State, got.ReplicaId));
        }
        var page1 = await a.ListJobsAsync(new ListJobsRequest { ModelName = Model, PageSize = 4 });
        var page2 = await a.ListJobsAsync(new ListJobsRequest { ModelName = Model, PageSize = 4, PageToken = page1.NextPageToken });
        var merged = page1.Jobs.Concat(page2.Jobs).ToList();
        Assert.Equal(ids.Order(), merged.Select(j => j.JobId).Order());
        Assert.Equal(merged.OrderByDescending(j => j.CreatedAt.ToDateTime()).Select(j => j.JobId), merged.Select(j => j.JobId));
        Assert.Equal("", page2.NextPageToken);

        foreach (var channel in channels.Values) channel.Dispose();
    }

    // Trainer replicas answer a forwarded call from their own store only: what each replica itself holds.
    private static readonly Metadata LocalOnly = new() { { "x-maas-trainer-forwarded", "1" } };

    private static bool IsEnded(JobState state) => state is JobState.Succeeded or JobState.Failed or JobState.Cancelled;

    // Asks every replica for every job from its own store (a plain call would ask its peer too): NotFound means that replica never took it.
    private static async Task<Dictionary<string, List<(string Replica, Job Job)>>> HoldersAsync(
        Dictionary<string, TrainerService.TrainerServiceClient> trainers, List<string> ids)
    {
        var holders = ids.ToDictionary(id => id, _ => new List<(string, Job)>());
        foreach (var id in ids)
        {
            foreach (var (replica, client) in trainers)
            {
                try
                {
                    holders[id].Add((replica, (await client.GetJobAsync(new GetJobRequest { JobId = id }, LocalOnly)).Job));
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
                {
                }
            }
        }
        return holders;
    }

    private static string Describe(Dictionary<string, List<(string Replica, Job Job)>> holders) =>
        string.Join("; ", holders.Select(h => $"{h.Key}: " + (h.Value.Count == 0 ? "nowhere" : string.Join(",", h.Value.Select(v => $"{v.Replica}={v.Job.State}")))));

    private static async Task<DatasetVersion> UploadLineAsync(RegistryService.RegistryServiceClient registry, string name)
    {
        // 100 rows of y = 2x + 1 + small noise, as the seed job.
        var random = new Random(7);
        var csv = new StringBuilder("x,y\n");
        for (var i = 0; i < 100; i++)
        {
            var x = random.NextDouble() * 3;
            var y = 2 * x + 1 + 0.1 * (random.NextDouble() - 0.5);
            csv.Append(x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)).Append(',')
               .Append(y.ToString("R", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }
        var bytes = Encoding.UTF8.GetBytes(csv.ToString());
        using var call = registry.UploadDataset();
        await call.RequestStream.WriteAsync(new UploadDatasetRequest
        {
            Manifest = new DatasetManifest { Name = name, Format = "csv", Digest = Convert.ToHexStringLower(SHA256.HashData(bytes)) },
        });
        await call.RequestStream.WriteAsync(new UploadDatasetRequest { Chunk = ByteString.CopyFrom(bytes) });
        await call.RequestStream.CompleteAsync();
        return (await call).Dataset;
    }
}
