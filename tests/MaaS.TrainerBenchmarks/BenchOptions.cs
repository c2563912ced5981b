namespace MaaS.TrainerBenchmarks;

/// <summary>The command line, checked: a wrong flag stops the tool with a sentence before anything starts.</summary>
public sealed class BenchOptions() : ToolOptions("tests/MaaS.TrainerBenchmarks")
{
    /// <summary>Every scenario, in the order they run.</summary>
    public static readonly string[] AllScenarios = ["seed", "overhead", "queue"];

    /// <summary>Measured runs of the seed job (after one unmeasured warm-up job).</summary>
    public int SeedRuns { get; private set; } = 5;

    /// <summary>Measured runs of the MLP job and of the bare loop (each after one warm-up).</summary>
    public int MlpRuns { get; private set; } = 5;

    /// <summary>Rows of the MLP dataset.</summary>
    public int MlpRows { get; private set; } = 10_000;

    /// <summary>Epochs of the MLP job.</summary>
    public int MlpEpochs { get; private set; } = 20;

    /// <summary>Epochs of the longer MLP job (0 = run only the short one).</summary>
    public int MlpLongEpochs { get; private set; } = 100;

    /// <summary>The MLP jobs' epoch counts: the short one, then the long one when asked for.</summary>
    public IReadOnlyList<int> MlpEpochCounts => MlpLongEpochs > 0 && MlpLongEpochs != MlpEpochs ? [MlpEpochs, MlpLongEpochs] : [MlpEpochs];

    /// <summary>Jobs in the queue scenario.</summary>
    public int QueueJobs { get; private set; } = 20;

    /// <summary>Unmeasured jobs sent the same way before each measured drain (0 = none).</summary>
    public int QueueWarmupJobs { get; private set; } = 10;

    /// <summary>Epochs of each queued job.</summary>
    public int QueueEpochs { get; private set; } = 3000;

    /// <summary>Scenarios to run.</summary>
    public IReadOnlyList<string> Scenarios { get; private set; } = AllScenarios;

    /// <summary>Usage text.</summary>
    public const string Usage = """
        usage: dotnet run -c Release --project tests/MaaS.TrainerBenchmarks -- [options]
          --seed-runs N       measured seed jobs, after one warm-up (default 5)
          --mlp-runs N        measured MLP jobs and bare loops, each after one warm-up (default 5)
          --mlp-rows N        rows of the MLP dataset (default 10000)
          --mlp-epochs N      epochs of the short MLP job (default 20)
          --mlp-long-epochs N epochs of the long MLP job; 0 = skip it (default 100)
          --queue-jobs N      jobs sent on the bus in the queue scenario (default 20)
          --queue-epochs N    epochs of each queued seed-line job (default 3000)
          --queue-warmup N    unmeasured jobs sent on the bus before each measured drain (default 10)
          --scenarios a,b     seed,overhead,queue (default all)
          --out FILE          also write the markdown report to FILE (e.g. docs/trainer-benchmarks.md)
          --port-base N       use ports N..N+11 on 127.0.0.1 instead of free ones the OS picks
          --no-build          do not run `dotnet build -c Release` on the registry and the trainer first
          --keep              keep the work folder (data, logs) after a successful run
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with a sentence on a bad one.</summary>
    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        o.Read(args, hasKeep: true, (name, value) =>
        {
            switch (name)
            {
                case "--seed-runs": o.SeedRuns = OptionValues.Int(name, value(), 1, 1000); break;
                case "--mlp-runs": o.MlpRuns = OptionValues.Int(name, value(), 1, 100); break;
                case "--mlp-rows": o.MlpRows = OptionValues.Int(name, value(), 256, 1_000_000); break;
                case "--mlp-epochs": o.MlpEpochs = OptionValues.Int(name, value(), 1, 10_000); break;
                case "--mlp-long-epochs": o.MlpLongEpochs = OptionValues.Int(name, value(), 0, 10_000); break;
                case "--queue-jobs": o.QueueJobs = OptionValues.Int(name, value(), 2, 1000); break;
                case "--queue-warmup": o.QueueWarmupJobs = OptionValues.Int(name, value(), 0, 1000); break;
                case "--queue-epochs": o.QueueEpochs = OptionValues.Int(name, value(), 1, 100_000); break;
                case "--scenarios": o.Scenarios = OptionValues.Names(name, value(), AllScenarios); break;
                case "--port-base": o.PortBase = OptionValues.Int(name, value(), 1024, 65500); break;
                default: return false;
            }
            return true;
        });
        return o;
    }
}
