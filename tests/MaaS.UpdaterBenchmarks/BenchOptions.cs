namespace MaaS.UpdaterBenchmarks;

/// <summary>The command line, checked: a wrong flag stops the tool with a sentence before anything starts.</summary>
public sealed class BenchOptions() : ToolOptions("tests/MaaS.UpdaterBenchmarks")
{
    /// <summary>Every scenario, in the order they run.</summary>
    public static readonly string[] AllScenarios = ["loop", "rollback", "restart"];

    /// <summary>Scenarios to run.</summary>
    public IReadOnlyList<string> Scenarios { get; private set; } = AllScenarios;

    /// <summary>Build configuration of the services started (and built unless --no-build).</summary>
    public string Configuration { get; private set; } = "Release";

    /// <summary>Seconds the broker stays down in the restart scenario.</summary>
    public int BrokerDownSeconds { get; private set; } = 5;

    /// <summary>Epochs of the restart scenario's model (every retraining reuses them): long enough to stop the broker while it trains.</summary>
    public int RestartEpochs { get; private set; } = 100_000;

    /// <summary>Usage text.</summary>
    public const string Usage = """
        usage: dotnet run -c Release --project tests/MaaS.UpdaterBenchmarks -- [options]
          --scenarios a,b         loop,rollback,restart (default all)
          --configuration NAME    Release | Debug: which build of the services to start (default Release)
          --broker-down-seconds N how long the broker stays stopped in the restart scenario (default 5)
          --restart-epochs N      epochs of the restart scenario's model, so its retraining outlasts a broker stop (default 100000)
          --out FILE              also write the markdown report to FILE (e.g. docs/updater-benchmarks.md)
          --port-base N           use ports N..N+15 on 127.0.0.1 instead of free ones the OS picks
          --no-build              do not run `dotnet build` on the services first
          --keep                  keep the work folder (data, logs) after a successful run
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with a sentence on a bad one.</summary>
    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        o.Read(args, hasKeep: true, (name, value) =>
        {
            switch (name)
            {
                case "--scenarios": o.Scenarios = OptionValues.Names(name, value(), AllScenarios); break;
                case "--configuration": o.Configuration = ConfigurationName(name, value()); break;
                case "--broker-down-seconds": o.BrokerDownSeconds = OptionValues.Int(name, value(), 1, 600); break;
                case "--restart-epochs": o.RestartEpochs = OptionValues.Int(name, value(), 1, 100_000); break;
                case "--port-base": o.PortBase = OptionValues.Int(name, value(), 1024, 65500); break;
                default: return false;
            }
            return true;
        });
        return o;
    }

    private static string ConfigurationName(string name, string text) => text.ToLowerInvariant() switch
    {
        "release" => "Release",
        "debug" => "Debug",
        _ => throw new ArgumentException($"{name} takes Release or Debug; '{text}' is neither."),
    };
}
