using System.ComponentModel.DataAnnotations;

namespace MaaS.Gateway.Traffic;

/// <summary>What the gateway tells the updater about the traffic it routes (section Gateway:Traffic).</summary>
public sealed class TrafficOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Gateway:Traffic";

    /// <summary>Whether TrafficObserved windows are published (the updater's rollout checks read them).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Length of one window: every this many milliseconds the counts of each model version with traffic are published.</summary>
    [Range(100, 60_000, ErrorMessage = "Gateway:Traffic:IntervalMilliseconds must be between 100 and 60000.")]
    public int IntervalMilliseconds { get; set; } = 1000;

    /// <summary>Name of this gateway in the events; empty = host name and process id.</summary>
    public string Source { get; set; } = "";
}
