using MaaS.RegistryBenchmarks.Hosting;
using MaaS.RegistryBenchmarks.Reporting;

namespace MaaS.RegistryBenchmarks.Scenarios;

/// <summary>What one store gave, collected for the side-by-side tables and the targets.</summary>
public sealed class StoreResults(string store)
{
    /// <summary>sqlite or postgres.</summary>
    public string Store { get; } = store;

    /// <summary>Models created and versions registered by the population step.</summary>
    public int Models { get; set; }

    /// <summary>Versions registered by the population step.</summary>
    public int Versions { get; set; }

    /// <summary>Seconds the versions took.</summary>
    public double PopulateSeconds { get; set; }

    /// <summary>Latency of each RegisterVersion call while populating.</summary>
    public Latencies Register { get; } = new();

    /// <summary>Artifact upload: bytes sent, seconds, per-call latencies.</summary>
    public (long Bytes, double Seconds, Latencies Calls)? Upload { get; set; }

    /// <summary>Query latencies by query kind, in the order measured; Target = a list/search call the p99 target applies to.</summary>
    public List<(string Kind, string Description, bool Target, Latencies Calls)> Queries { get; } = [];

    /// <summary>Why a scenario stopped, by scenario name.</summary>
    public Dictionary<string, string> Failed { get; } = [];

    /// <summary>Register-version throughput.</summary>
    public double VersionsPerSecond => PopulateSeconds > 0 ? Versions / PopulateSeconds : double.NaN;

    /// <summary>Upload throughput in MB/s (10^6 bytes).</summary>
    public double UploadMBps => Upload is { } u && u.Seconds > 0 ? u.Bytes / 1e6 / u.Seconds : double.NaN;
}

/// <summary>Everything a scenario needs.</summary>
/// <param name="Options">The command line.</param>
/// <param name="Registry">The running registry.</param>
/// <param name="Results">Where the numbers go.</param>
/// <param name="Progress">Where to say what is happening.</param>
public sealed record ScenarioContext(BenchOptions Options, RegistryHost Registry, StoreResults Results, TextWriter Progress);
