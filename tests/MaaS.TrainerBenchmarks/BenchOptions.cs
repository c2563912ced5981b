using System.Globalization;

namespace MaaS.TrainerBenchmarks;

/// <summary>The command line, checked: a wrong flag stops the tool with a sentence before anything starts.</summary>
public sealed class BenchOptions
{
    /// <summary>Every scenario, in the order they run.</summary>
    public static readonly string[] AllScenarios = ["seed", "overhead", "queue"];

    /// <summary>Measured runs of the seed job (after one unmeasured warm-up job).</summary>
    public int SeedRuns { get; private set; } = 5;

    /// <summary>Measured runs of the MLP job and of the bare loop (each after one warm-up).</summary>
    public int MlpRuns { get; private set; } = 3;

    /// <summary>Rows of the MLP dataset.</summary>
    public int MlpRows { get; private set; } = 10_000;

    /// <summary>Epochs of the MLP job.</summary>
    public int MlpEpochs { get; private set; } = 20;

    /// <summary>Jobs in the queue scenario.</summary>
    public int QueueJobs { get; private set; } = 20;

    /// <summary>Epochs of each queued job.</summary>
    public int QueueEpochs { get; private set; } = 3000;

    /// <summary>Scenarios to run.</summary>
    public IReadOnlyList<string> Scenarios { get; private set; } = AllScenarios;

    /// <summary>Where the markdown goes besides stdout; null = stdout only.</summary>
    public string? Out { get; private set; }

    /// <summary>First of a range of 12 ports to use; 0 = ports the OS hands out.</summary>
    public int PortBase { get; private set; }

    /// <summary>Skip `dotnet build -c Release` of the registry and the trainer.</summary>
    public bool NoBuild { get; private set; }

    /// <summary>Keep the work folder (data, logs) after a successful run.</summary>
    public bool Keep { get; private set; }

    /// <summary>Repository root (found from the working directory upwards).</summary>
    public string RepoRoot { get; private set; } = "";

    /// <summary>The arguments as given, for the report's exact command.</summary>
    public IReadOnlyList<string> Raw { get; private set; } = [];

    /// <summary>Usage text.</summary>
    public const string Usage = """
        usage: dotnet run -c Release --project tests/MaaS.TrainerBenchmarks -- [options]
          --seed-runs N       measured seed jobs, after one warm-up (default 5)
          --mlp-runs N        measured MLP jobs and bare loops, each after one warm-up (default 3)
          --mlp-rows N        rows of the MLP dataset (default 10000)
          --mlp-epochs N      epochs of the MLP job (default 20)
          --queue-jobs N      jobs sent on the bus in the queue scenario (default 20)
          --queue-epochs N    epochs of each queued seed-line job (default 3000)
          --scenarios a,b     seed,overhead,queue (default all)
          --out FILE          also write the markdown report to FILE (e.g. docs/trainer-benchmarks.md)
          --port-base N       use ports N..N+11 on 127.0.0.1 instead of free ones the OS picks
          --no-build          do not run `dotnet build -c Release` on the registry and the trainer first
          --keep              keep the work folder (data, logs) after a successful run
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with a sentence on a bad one.</summary>
    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions { Raw = args };
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            switch (name)
            {
                case "--seed-runs": o.SeedRuns = Int(name, Value(), 1, 1000); break;
                case "--mlp-runs": o.MlpRuns = Int(name, Value(), 1, 100); break;
                case "--mlp-rows": o.MlpRows = Int(name, Value(), 256, 1_000_000); break;
                case "--mlp-epochs": o.MlpEpochs = Int(name, Value(), 1, 10_000); break;
                case "--queue-jobs": o.QueueJobs = Int(name, Value(), 2, 1000); break;
                case "--queue-epochs": o.QueueEpochs = Int(name, Value(), 1, 100_000); break;
                case "--scenarios": o.Scenarios = List(name, Value()); break;
                case "--out": o.Out = Value(); break;
                case "--port-base": o.PortBase = Int(name, Value(), 1024, 65500); break;
                case "--no-build": o.NoBuild = true; break;
                case "--keep": o.Keep = true; break;
                case "-h" or "--help": throw new ArgumentException("");
                default: throw new ArgumentException($"Unknown option '{name}'.");
            }
        }
        o.RepoRoot = FindRepoRoot();
        return o;
    }

    /// <summary>The command that reproduces this run.</summary>
    public string Command =>
        "dotnet run -c Release --project tests/MaaS.TrainerBenchmarks" + (Raw.Count > 0 ? " -- " + string.Join(' ', Raw) : "");

    private static int Int(string name, string text, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            throw new ArgumentException($"{name} must be a whole number from {min} to {max}; it is '{text}'.");
        }
        return v;
    }

    private static IReadOnlyList<string> List(string name, string text)
    {
        var list = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => s.ToLowerInvariant()).ToList();
        var unknown = list.Where(s => !AllScenarios.Contains(s)).ToList();
        if (list.Count == 0 || unknown.Count > 0)
        {
            throw new ArgumentException($"{name} takes names among {string.Join(",", AllScenarios)}; '{string.Join(",", unknown)}' is not one.");
        }
        return AllScenarios.Where(list.Contains).ToList();
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MaaS.Mesh.sln"))) return dir.FullName;
        }
        throw new ArgumentException("Run the tool from inside the MaaS.Mesh repository (no MaaS.Mesh.sln found above the working directory).");
    }
}
