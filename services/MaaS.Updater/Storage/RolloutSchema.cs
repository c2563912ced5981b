namespace MaaS.Updater.Storage;

/// <summary>Tables of progressive rollouts (state, steps, traffic windows).</summary>
public static class RolloutSchema
{
    /// <summary>Migration 5 (applied once, in order; never edit after it shipped, add a new one).</summary>
    public const string Sql = "SELECT 1;";
}
