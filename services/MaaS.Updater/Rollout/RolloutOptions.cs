using System.ComponentModel.DataAnnotations;

namespace MaaS.Updater.Rollout;

/// <summary>How the rollout driver runs (section Updater:Rollouts); the steps themselves follow each rollout's plan.</summary>
public sealed class RolloutOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Updater:Rollouts";

    /// <summary>Whether the driver runs (off only in tests, which tick it themselves).</summary>
    public bool DriverEnabled { get; set; } = true;

    /// <summary>How often the driver judges every running rollout, in milliseconds.</summary>
    [Range(20, 60_000)]
    public int TickMilliseconds { get; set; } = 250;

    /// <summary>
    /// A step whose challenger has not answered min_requests calls after this many bake times is rolled back:
    /// a challenger that gets no traffic (not loaded anywhere, a pool without replicas) must not hold a rollout for ever.
    /// </summary>
    [Range(1, 1000)]
    public int MinRequestsTimeoutBakes { get; set; } = 10;

    /// <summary>How long the ids of counted TrafficObserved events are kept to recognise redeliveries, in minutes.</summary>
    [Range(1, 10_080)]
    public int SeenEventRetentionMinutes { get; set; } = 60;
}
