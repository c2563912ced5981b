namespace MaaS.Updater.Rollout;

/// <summary>The states of a rollout (Rollout.state).</summary>
public static class RolloutStates
{
    /// <summary>The challenger receives a copy of a share of live calls; its answers are never returned.</summary>
    public const string Shadow = "shadow";
    /// <summary>The challenger answers its step's share of live calls.</summary>
    public const string Canary = "canary";
    /// <summary>Production moved to the challenger, which takes all traffic.</summary>
    public const string Completed = "completed";
    /// <summary>The champion took all traffic back: the checks failed, or a completed rollout was rolled back.</summary>
    public const string RolledBack = "rolled_back";
    /// <summary>Stopped on request; the champion took all traffic back.</summary>
    public const string Aborted = "aborted";

    /// <summary>Whether a rollout in <paramref name="state"/> is still running.</summary>
    public static bool IsRunning(string state) => state is Shadow or Canary;
}
