using System.Diagnostics;
using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using MaaS.TrainerBenchmarks.Hosting;
using MassTransit;

namespace MaaS.TrainerBenchmarks.Scenarios;

/// <summary>Where one queued job ran and what it registered.</summary>
/// <param name="JobId">The id sent in the command.</param>
/// <param name="Replica">The replica that reports it (its Trainer:ReplicaId); "?" when none does.</param>
/// <param name="State">Its final state there.</param>
/// <param name="RunningSeconds">Running → ended on that replica's clock.</param>
public sealed record QueuedJob(string JobId, string Replica, JobState State, double RunningSeconds);

/// <summary>One drain of the queue.</summary>
/// <param name="Replicas">Trainer replicas consuming.</param>
/// <param name="Seconds">First command sent → last of the versions registered.</param>
/// <param name="Versions">Versions the registry holds for the phase's model.</param>
/// <param name="DistinctJobIds">Distinct lineage training_job_id among them.</param>
/// <param name="Jobs">Per job, which replica ran it.</param>
/// <param name="Cpu">CPU seconds the mesh's processes (and the machine) used over the same span as <paramref name="Seconds"/>.</param>
public sealed record QueuePhase(int Replicas, double Seconds, int Versions, int DistinctJobIds, IReadOnlyList<QueuedJob> Jobs, CpuSample Cpu)
{
    /// <summary>Mean cores the mesh's processes kept busy: CPU seconds / wall seconds.</summary>
    public double MeshCores => Cpu.Mesh / Seconds;

    /// <summary>Mesh CPU seconds per job (trainer, registry, broker and client together).</summary>
    public double CpuPerJob => Cpu.Mesh / Jobs.Count;

    /// <summary>Mean cores other work on the machine kept busy meanwhile (machine busy − mesh, per wall second).</summary>
    public double OtherCores => double.IsFinite(Cpu.MachineBusy) ? Math.Max(0, (Cpu.MachineBusy - Cpu.Mesh) / Seconds) : 0;

    /// <summary>Cores the mesh could have had: all of them less what other work used (at least what the mesh did use).</summary>
    public double FreeCores => Math.Clamp(Environment.ProcessorCount - OtherCores, Math.Min(MeshCores, Environment.ProcessorCount), Environment.ProcessorCount);
}

/// <summary>
/// N small jobs sent as TrainModel commands to the trainers' one durable queue ("trainer-train-model"),
/// drained by one replica and then by two (competing consumers, Trainer:MaxConcurrentJobs 1 each).
/// </summary>
public static class QueueScenario
{
    /// <summary>The queue every trainer replica consumes.</summary>
    public const string QueueName = "trainer-train-model";

    /// <summary>One phase per replica count in <paramref name="replicaCounts"/>; replicas are started as needed (a, b, ...).</summary>
    public static async Task<IReadOnlyList<QueuePhase>> RunAsync(TrainerMesh mesh, BenchOptions options, TextWriter progress, params int[] replicaCounts)
    {
        var dataset = await Datasets.UploadAsync(mesh.Registry, "bench-queue-line", Datasets.Line().ToCsv());
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)mesh.AmqpPort, "/", h =>
        {
            h.Username("guest");
            h.Password("guest");
        }));
        await bus.StartAsync(TimeSpan.FromSeconds(60));
        try
        {
            var phases = new List<QueuePhase>();
            foreach (var count in replicaCounts)
            {
                while (mesh.Trainers.Count < count)
                {
                    var replica = await mesh.StartTrainerAsync(((char)('a' + mesh.Trainers.Count)).ToString());
                    // A fresh process JITs and loads libtorch on its first job; that is start-up, not queue throughput.
                    await JobRuns.RunAsync(replica.Client, Datasets.SeedSpec("bench-warmup", dataset.Name, 100), TimeSpan.FromMinutes(3));
                }
                if (options.QueueWarmupJobs > 0)
                {
                    // The same commands through the same path first: the bus consumer, the registry's registration and the
                    // tool's sender JIT and tier up during these, not during the measured drain.
                    await DrainAsync(mesh, bus, dataset, count, $"bench-queue-warmup-{count}", options.QueueWarmupJobs, options, progress);
                }
                var phase = await DrainAsync(mesh, bus, dataset, count, $"bench-queue-{count}", options.QueueJobs, options, progress);
                phases.Add(phase);
            }
            return phases;
        }
        finally
        {
            await bus.StopAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static async Task<QueuePhase> DrainAsync(TrainerMesh mesh, IBusControl bus, DatasetVersion dataset, int replicas,
        string model, int count, BenchOptions options, TextWriter progress)
    {
        var ids = Enumerable.Range(1, count).Select(i => $"{model}-{i:00}").ToList();
        var endpoint = await bus.GetSendEndpoint(new Uri("queue:" + QueueName));
        var cpuBefore = CpuClock.Sample(mesh.ProcessGroups());
        var clock = Stopwatch.StartNew();
        foreach (var id in ids)
        {
            await endpoint.Send(new TrainModel
            {
                JobId = id,
                ModelName = model,
                DatasetName = dataset.Name,
                DatasetVersion = dataset.Version,
                FeatureColumns = ["x"],
                LabelColumn = "y",
                Architecture = "linear_regression",
                Optimizer = "sgd",
                Loss = "mse",
                Epochs = options.QueueEpochs,
                LearningRate = 0.1,
                Seed = 42,
                CorrelationId = id,
            });
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(15);
        while (true)
        {
            // GetModel's latest version is the cheapest poll: the registry's CPU is measured, the poll should not add to it.
            var latest = await LatestVersionAsync(mesh.Registry, model);
            if (latest >= ids.Count) break;
            if (DateTime.UtcNow > deadline)
            {
                throw new HarnessException($"[queue] {model}: only {latest} of {ids.Count} versions registered after 15 minutes.");
            }
            await Task.Delay(100);
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu = CpuClock.Sample(mesh.ProcessGroups()).Since(cpuBefore);
        // A duplicate registration would come a moment later; give it the time of one job.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var versions = await VersionsAsync(mesh.Registry, model);

        var jobs = new List<QueuedJob>();
        foreach (var id in ids)
        {
            QueuedJob? found = null;
            foreach (var trainer in mesh.Trainers.Take(replicas))
            {
                try
                {
                    var job = (await trainer.Client.GetJobAsync(new GetJobRequest { JobId = id })).Job;
                    var running = job.StartedAt is null || job.FinishedAt is null ? double.NaN
                        : (job.FinishedAt.ToDateTimeOffset() - job.StartedAt.ToDateTimeOffset()).TotalSeconds;
                    found = new QueuedJob(id, job.ReplicaId.Length > 0 ? job.ReplicaId : trainer.ReplicaId, job.State, running);
                    break;
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
                {
                    // Another replica ran it.
                }
            }
            jobs.Add(found ?? new QueuedJob(id, "?", JobState.Unspecified, double.NaN));
        }
        var distinct = versions.Select(v => v.Lineage?.TrainingJobId ?? "").Where(ids.Contains).Distinct().Count();
        progress.WriteLine($"[queue] {model}, {replicas} replica(s): {ids.Count} jobs in {seconds:0.00} s; " +
            string.Join(", ", jobs.GroupBy(j => j.Replica).Select(g => $"{g.Key}: {g.Count()}")) +
            $"; CPU s {string.Join(", ", cpu.Groups.Select(g => $"{g.Key} {g.Value:0.00}"))}, machine busy {cpu.MachineBusy:0.00}");
        return new QueuePhase(replicas, seconds, versions.Count, distinct, jobs, cpu);
    }

    private static async Task<long> LatestVersionAsync(RegistryService.RegistryServiceClient registry, string model)
    {
        try
        {
            return (await registry.GetModelAsync(new GetModelRequest { Name = model })).Model.LatestVersion;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return 0;
        }
    }

    private static async Task<List<ModelVersion>> VersionsAsync(RegistryService.RegistryServiceClient registry, string model)
    {
        try
        {
            return [.. (await registry.ListVersionsAsync(new ListVersionsRequest { ModelName = model })).Versions];
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return [];
        }
    }
}
