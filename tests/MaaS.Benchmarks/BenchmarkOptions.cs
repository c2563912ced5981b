namespace MaaS.Benchmarks;

/// <summary>The command line, checked: a wrong flag stops the tool with a sentence before anything starts.</summary>
public sealed class BenchmarkOptions() : ToolOptions("tests/MaaS.Benchmarks")
{
    /// <summary>Every scenario, in the order they run.</summary>
    public static readonly string[] AllScenarios = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];

    /// <summary>Measured seconds per table cell.</summary>
    public double Seconds { get; private set; } = 5;

    /// <summary>Seconds of unmeasured traffic before each cell (connections, JIT, ORT arenas).</summary>
    public double WarmupSeconds { get; private set; } = 1;

    /// <summary>
    /// Seconds of unmeasured traffic at concurrency 4 before the first cell of each target: the replica's
    /// JIT tiering takes longer than a cell's warm-up (a first cell at concurrency 1 was 6× slower without it).
    /// </summary>
    public double PrewarmSeconds { get; private set; } = 3;

    /// <summary>Scenarios to run (letters a–i).</summary>
    public IReadOnlyList<string> Scenarios { get; private set; } = AllScenarios;

    /// <summary>Concurrency levels of the sweeps.</summary>
    public IReadOnlyList<int> Concurrency { get; private set; } = [1, 4, 16, 64];

    /// <summary>Callers that share one GrpcChannel (one HTTP/2 connection pool).</summary>
    public int CallersPerChannel { get; private set; } = 16;

    /// <summary>A gateway build to run instead of gateway/MaaS.Gateway's Release output (for A/B comparisons); null = that output.</summary>
    public string? GatewayDll { get; private set; }

    /// <summary>Load/unload cycles of scenario f.</summary>
    public int Cycles { get; private set; } = 1000;

    /// <summary>Usage text.</summary>
    public const string Usage = """
        usage: dotnet run -c Release --project tests/MaaS.Benchmarks -- [options]
          --seconds N              measured seconds per cell (default 5)
          --warmup N               unmeasured seconds before each cell (default 1)
          --prewarm N              unmeasured seconds at concurrency 4 before each target's first cell (default 3)
          --out FILE               also write the markdown report to FILE (e.g. docs/benchmarks.md)
          --scenarios a,b,...      which scenarios: a direct, b gateway, c empty call, d batching, e swap, f load/unload,
                                   g weighted split, h shadow cost, i replica killed (default all)
          --concurrency 1,4,16,64  concurrency levels of the sweeps
          --callers-per-channel N  callers sharing one GrpcChannel (default 16)
          --cycles N               load/unload cycles of scenario f (default 1000)
          --gateway-dll FILE       run this MaaS.Gateway.dll instead of the Release build (A/B comparisons of gateway builds)
          --port-base N            use ports N..N+4 on 127.0.0.1 instead of free ones the OS picks
          --no-build               do not run `dotnet build -c Release` on the replica and the gateway first
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with a sentence on a bad one.</summary>
    public static BenchmarkOptions Parse(string[] args)
    {
        var o = new BenchmarkOptions();
        o.Read(args, hasKeep: false, (name, value) =>
        {
            switch (name)
            {
                case "--seconds": o.Seconds = OptionValues.Number(name, value(), 0.1, 3600); break;
                case "--warmup": o.WarmupSeconds = OptionValues.Number(name, value(), 0, 600); break;
                case "--prewarm": o.PrewarmSeconds = OptionValues.Number(name, value(), 0, 600); break;
                case "--scenarios": o.Scenarios = OptionValues.Names(name, value(), AllScenarios, "letters"); break;
                case "--concurrency":
                    o.Concurrency = value().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => (int)OptionValues.Number(name, s, 1, 4096)).Distinct().ToList();
                    break;
                case "--callers-per-channel": o.CallersPerChannel = (int)OptionValues.Number(name, value(), 1, 4096); break;
                case "--cycles": o.Cycles = (int)OptionValues.Number(name, value(), 1, 1_000_000); break;
                case "--gateway-dll": o.GatewayDll = Path.GetFullPath(value()); break;
                case "--port-base": o.PortBase = (int)OptionValues.Number(name, value(), 1024, 65530); break;
                default: return false;
            }
            return true;
        });
        return o;
    }
}
