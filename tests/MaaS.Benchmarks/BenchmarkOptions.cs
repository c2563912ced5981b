using System.Globalization;

namespace MaaS.Benchmarks;

/// <summary>The command line, checked: a wrong flag stops the tool with a sentence before anything starts.</summary>
public sealed class BenchmarkOptions
{
    /// <summary>Every scenario, in the order they run.</summary>
    public static readonly string[] AllScenarios = ["a", "b", "c", "d", "e", "f"];

    /// <summary>Measured seconds per table cell.</summary>
    public double Seconds { get; private set; } = 5;

    /// <summary>Seconds of unmeasured traffic before each cell (connections, JIT, ORT arenas).</summary>
    public double WarmupSeconds { get; private set; } = 1;

    /// <summary>
    /// Seconds of unmeasured traffic at concurrency 4 before the first cell of each target: the replica's
    /// JIT tiering takes longer than a cell's warm-up (a first cell at concurrency 1 was 6× slower without it).
    /// </summary>
    public double PrewarmSeconds { get; private set; } = 3;

    /// <summary>Where the markdown goes besides stdout; null = stdout only.</summary>
    public string? Out { get; private set; }

    /// <summary>Scenarios to run (letters a–f).</summary>
    public IReadOnlyList<string> Scenarios { get; private set; } = AllScenarios;

    /// <summary>Concurrency levels of the sweeps.</summary>
    public IReadOnlyList<int> Concurrency { get; private set; } = [1, 4, 16, 64];

    /// <summary>Callers that share one GrpcChannel (one HTTP/2 connection pool).</summary>
    public int CallersPerChannel { get; private set; } = 16;

    /// <summary>Load/unload cycles of scenario f.</summary>
    public int Cycles { get; private set; } = 1000;

    /// <summary>First port of a range of 5 to use; 0 = ports the OS hands out.</summary>
    public int PortBase { get; private set; }

    /// <summary>Skip `dotnet build -c Release` of the replica and the gateway.</summary>
    public bool NoBuild { get; private set; }

    /// <summary>Repository root (found from the working directory upwards).</summary>
    public string RepoRoot { get; private set; } = "";

    /// <summary>The arguments as given, for the report's exact command.</summary>
    public IReadOnlyList<string> Raw { get; private set; } = [];

    /// <summary>Usage text.</summary>
    public const string Usage = """
        usage: dotnet run -c Release --project tests/MaaS.Benchmarks -- [options]
          --seconds N              measured seconds per cell (default 5)
          --warmup N               unmeasured seconds before each cell (default 1)
          --prewarm N              unmeasured seconds at concurrency 4 before each target's first cell (default 3)
          --out FILE               also write the markdown report to FILE (e.g. docs/benchmarks.md)
          --scenarios a,b,...      which scenarios: a direct, b gateway, c empty call, d batching, e swap, f load/unload (default all)
          --concurrency 1,4,16,64  concurrency levels of the sweeps
          --callers-per-channel N  callers sharing one GrpcChannel (default 16)
          --cycles N               load/unload cycles of scenario f (default 1000)
          --port-base N            use ports N..N+4 on 127.0.0.1 instead of free ones the OS picks
          --no-build               do not run `dotnet build -c Release` on the replica and the gateway first
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with a sentence on a bad one.</summary>
    public static BenchmarkOptions Parse(string[] args)
    {
        var o = new BenchmarkOptions { Raw = args };
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            switch (name)
            {
                case "--seconds": o.Seconds = Number(name, Value(), 0.1, 3600); break;
                case "--warmup": o.WarmupSeconds = Number(name, Value(), 0, 600); break;
                case "--prewarm": o.PrewarmSeconds = Number(name, Value(), 0, 600); break;
                case "--out": o.Out = Value(); break;
                case "--scenarios":
                    var list = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()).ToList();
                    var unknown = list.Where(s => !AllScenarios.Contains(s)).ToList();
                    if (list.Count == 0 || unknown.Count > 0)
                    {
                        throw new ArgumentException($"--scenarios takes letters among {string.Join(",", AllScenarios)}; '{string.Join(",", unknown)}' is not one.");
                    }
                    o.Scenarios = AllScenarios.Where(list.Contains).ToList();
                    break;
                case "--concurrency":
                    o.Concurrency = Value().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => (int)Number(name, s, 1, 4096)).Distinct().ToList();
                    break;
                case "--callers-per-channel": o.CallersPerChannel = (int)Number(name, Value(), 1, 4096); break;
                case "--cycles": o.Cycles = (int)Number(name, Value(), 1, 1_000_000); break;
                case "--port-base": o.PortBase = (int)Number(name, Value(), 1024, 65530); break;
                case "--no-build": o.NoBuild = true; break;
                case "-h" or "--help": throw new ArgumentException("");
                default: throw new ArgumentException($"Unknown option '{name}'.");
            }
        }
        o.RepoRoot = FindRepoRoot();
        return o;
    }

    /// <summary>The command that reproduces this run.</summary>
    public string Command =>
        "dotnet run -c Release --project tests/MaaS.Benchmarks" + (Raw.Count > 0 ? " -- " + string.Join(' ', Raw) : "");

    private static double Number(string name, string text, double min, double max)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            throw new ArgumentException($"{name} must be a number from {min} to {max}; it is '{text}'.");
        }
        return v;
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
