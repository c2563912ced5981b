namespace MaaS.RegistryBenchmarks;

/// <summary>The command line, checked: a wrong flag stops the tool with a sentence before anything starts.</summary>
public sealed class BenchOptions() : ToolOptions("tests/MaaS.RegistryBenchmarks")
{
    /// <summary>Every store the tool can measure.</summary>
    public static readonly string[] AllStores = ["sqlite", "postgres"];

    /// <summary>Every scenario, in the order they run.</summary>
    public static readonly string[] AllScenarios = ["populate", "upload", "query", "outage"];

    /// <summary>Models created by the population step.</summary>
    public int Models { get; private set; } = 1000;

    /// <summary>Versions registered per model.</summary>
    public int VersionsPerModel { get; private set; } = 10;

    /// <summary>Bytes of each population artifact (unique content per version).</summary>
    public int ArtifactBytes { get; private set; } = 4096;

    /// <summary>Concurrent RegisterVersion callers during population.</summary>
    public int Writers { get; private set; } = 4;

    /// <summary>Size of each artifact of the upload scenario, MiB.</summary>
    public int UploadMiB { get; private set; } = 8;

    /// <summary>Artifacts uploaded by the upload scenario.</summary>
    public int Uploads { get; private set; } = 16;

    /// <summary>Measured calls per query kind.</summary>
    public int Calls { get; private set; } = 2000;

    /// <summary>Unmeasured calls per query kind before the measured ones.</summary>
    public int WarmupCalls { get; private set; } = 200;

    /// <summary>Seconds the broker is down in the outage scenario.</summary>
    public int OutageSeconds { get; private set; } = 30;

    /// <summary>Stores to measure, side by side.</summary>
    public IReadOnlyList<string> Stores { get; private set; } = AllStores;

    /// <summary>Scenarios to run.</summary>
    public IReadOnlyList<string> Scenarios { get; private set; } = AllScenarios;

    /// <summary>Usage text.</summary>
    public const string Usage = """
        usage: dotnet run -c Release --project tests/MaaS.RegistryBenchmarks -- [options]
          --models N            models created (default 1000)
          --versions N          versions per model (default 10)
          --artifact-bytes N    bytes of each population artifact (default 4096)
          --writers N           concurrent RegisterVersion callers while populating (default 4)
          --upload-mib N        size of each upload-scenario artifact in MiB (default 8)
          --uploads N           artifacts uploaded by the upload scenario (default 16)
          --calls N             measured calls per query kind (default 2000)
          --warmup-calls N      unmeasured calls per query kind first (default 200)
          --outage-seconds N    seconds the broker is stopped in the outage scenario (default 30)
          --stores a,b          stores: sqlite,postgres (default both)
          --scenarios a,b       populate,upload,query,outage (default all; query needs populate)
          --out FILE            also write the markdown report to FILE (e.g. docs/registry-benchmarks.md)
          --port-base N         use ports N..N+5 on 127.0.0.1 instead of free ones the OS picks
          --no-build            do not run `dotnet build -c Release` on the registry first
          --keep                keep the work folder (databases, blobs, logs) after a successful run
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with a sentence on a bad one.</summary>
    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        o.Read(args, hasKeep: true, (name, value) =>
        {
            switch (name)
            {
                case "--models": o.Models = OptionValues.Int(name, value(), 1, 1_000_000); break;
                case "--versions": o.VersionsPerModel = OptionValues.Int(name, value(), 1, 10_000); break;
                case "--artifact-bytes": o.ArtifactBytes = OptionValues.Int(name, value(), 64, 64 * 1024 * 1024); break;
                case "--writers": o.Writers = OptionValues.Int(name, value(), 1, 256); break;
                case "--upload-mib": o.UploadMiB = OptionValues.Int(name, value(), 1, 512); break;
                case "--uploads": o.Uploads = OptionValues.Int(name, value(), 1, 10_000); break;
                case "--calls": o.Calls = OptionValues.Int(name, value(), 1, 10_000_000); break;
                case "--warmup-calls": o.WarmupCalls = OptionValues.Int(name, value(), 0, 1_000_000); break;
                case "--outage-seconds": o.OutageSeconds = OptionValues.Int(name, value(), 1, 3600); break;
                case "--stores": o.Stores = OptionValues.Names(name, value(), AllStores); break;
                case "--scenarios": o.Scenarios = OptionValues.Names(name, value(), AllScenarios); break;
                case "--port-base": o.PortBase = OptionValues.Int(name, value(), 1024, 65520); break;
                default: return false;
            }
            return true;
        });
        if (o.Scenarios.Contains("query") && !o.Scenarios.Contains("populate"))
        {
            throw new ArgumentException("--scenarios: query measures the populated registry, so it needs populate too.");
        }
        return o;
    }
}
