using System.Diagnostics;
using MaaS.Onnx;
using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.Training;
using MaaS.TrainerBenchmarks.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaaS.TrainerBenchmarks.Scenarios;

/// <summary>One in-process run of the trainer's core.</summary>
/// <param name="Seconds">ModelTrainer.Train: data preparation, the TorchSharp loop, ONNX export and its check.</param>
/// <param name="LoopSeconds">From the call to the last epoch's progress report (the loop without export).</param>
/// <param name="TrainLoss">The run's train_loss metric.</param>
public sealed record BareRun(double Seconds, double LoopSeconds, double TrainLoss);

/// <summary>The MLP job through the service and the same spec through the core in this process.</summary>
public sealed record OverheadResults(int Rows, int Epochs, IReadOnlyList<TimedJob> Jobs, IReadOnlyList<BareRun> Bare)
{
    /// <summary>(median submit → registered − median bare Train) / median bare Train.</summary>
    public double OverheadPercent =>
        (JobRuns.MedianMax(Jobs.Select(j => j.Seconds)).Median / JobRuns.MedianMax(Bare.Select(b => b.Seconds)).Median - 1) * 100;
}

/// <summary>
/// The job framework's overhead on a 10,000-row MLP job (8 → 64 → 64 → 1, Adam, batches of 256), once with
/// <see cref="BenchOptions.MlpEpochs"/> (short: fixed per-job costs weigh most) and once with
/// <see cref="BenchOptions.MlpLongEpochs"/> (a job of a few seconds): the job from SubmitJob to registered against
/// <see cref="ModelTrainer.Train"/> run here on the same CSV and spec. Both get one unmeasured warm-up; then job
/// and bare loop alternate, so machine noise hits both alike.
/// </summary>
public static class OverheadScenario
{
    /// <summary>Runs the warm-ups and <see cref="BenchOptions.MlpRuns"/> measured pairs for each epoch count.</summary>
    public static async Task<IReadOnlyList<OverheadResults>> RunAsync(TrainerMesh mesh, TrainerReplica trainer, BenchOptions options, TextWriter progress)
    {
        var csv = Datasets.Mlp(options.MlpRows).ToCsv();
        var dataset = await Datasets.UploadAsync(mesh.Registry, "bench-mlp", csv);
        // The trainer parses the same bytes it downloads; so does the bare run.
        var table = NumericTable.Parse(csv);
        // The bare side runs libtorch with the intra-op threads the trainer gives itself by default (Trainer:TorchThreads 0
        // with one job slot), so both loops have the same parallelism.
        var threads = new MaaS.Trainer.TrainerOptions().EffectiveTorchThreads;
        progress.WriteLine($"[overhead] libtorch intra-op threads: bare {threads} (libtorch's own default here {TorchSharp.torch.get_num_threads()}), trainer {threads}");
        TorchSharp.torch.set_num_threads(threads);
        var core = new ModelTrainer(new ExportVerifier(new OnnxSessionFactory(
            Options.Create(new OnnxRuntimeOptions { PreferCuda = false }), NullLogger<OnnxSessionFactory>.Instance)));
        var results = new List<OverheadResults>();
        foreach (var epochs in options.MlpEpochCounts)
        {
            results.Add(await RunAsync(trainer, Datasets.MlpSpec("bench-mlp", dataset.Name, epochs), table, core, options, progress));
        }
        return results;
    }

    private static async Task<OverheadResults> RunAsync(TrainerReplica trainer, MaaS.Trainer.V1.TrainingSpec spec, NumericTable table,
        ModelTrainer core, BenchOptions options, TextWriter progress)
    {
        var tag = $"[overhead {spec.Epochs} epochs]";
        var warmBare = Bare(core, table, spec);
        var warmJob = await JobRuns.RunAsync(trainer.Client, spec, TimeSpan.FromMinutes(10));
        progress.WriteLine($"{tag} warm-up: bare {warmBare.Seconds:0.000} s, job {warmJob.Seconds:0.000} s");
        var jobs = new List<TimedJob>();
        var bare = new List<BareRun>();
        for (var i = 0; i < options.MlpRuns; i++)
        {
            var job = await JobRuns.RunAsync(trainer.Client, spec, TimeSpan.FromMinutes(10));
            var run = Bare(core, table, spec);
            progress.WriteLine($"{tag} run {i + 1}: job {job.Seconds:0.000} s (trainer loop {job.TrainerLoopSeconds:0.000} s), bare {run.Seconds:0.000} s (loop {run.LoopSeconds:0.000} s)");
            jobs.Add(job);
            bare.Add(run);
        }
        return new OverheadResults(table.Rows.Count, spec.Epochs, jobs, bare);
    }

    private static BareRun Bare(ModelTrainer core, NumericTable table, MaaS.Trainer.V1.TrainingSpec spec)
    {
        var clock = Stopwatch.StartNew();
        var loop = double.NaN;
        var trained = core.Train(table, spec.Clone(), progress: p =>
        {
            if (p.Final || p.Epoch == spec.Epochs) loop = clock.Elapsed.TotalSeconds;
        });
        return new BareRun(clock.Elapsed.TotalSeconds, loop, trained.Metrics["train_loss"]);
    }
}
