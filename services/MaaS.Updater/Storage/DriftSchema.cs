namespace MaaS.Updater.Storage;

/// <summary>Tables of drift detection (sampled inference inputs, reference statistics).</summary>
public static class DriftSchema
{
    /// <summary>Migration 4 (applied once, in order; never edit after it shipped, add a new one).</summary>
    public const string Sql = "SELECT 1;";
}
