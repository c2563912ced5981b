namespace MaaS.Updater.Storage;

/// <summary>Tables of drift detection (sampled inference inputs, reference statistics).</summary>
public static class DriftSchema
{
    /// <summary>
    /// Migration 4 (applied once, in order; never edit after it shipped, add a new one). One row per sampled
    /// inference input: its values as little-endian FP64 (exact, compact), the version and replica that saw it
    /// and the InputsSampled event it came in (a redelivered event is recognised and not stored twice).
    /// The (model, id) index serves both the newest-window read and the per-model pruning.
    /// </summary>
    public const string Sql = """
        CREATE TABLE drift_samples (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            model TEXT NOT NULL,
            version INTEGER NOT NULL,
            replica TEXT NOT NULL,
            event_id TEXT NOT NULL,
            row_values BLOB NOT NULL,
            received_at TEXT NOT NULL);
        CREATE INDEX ix_drift_samples_model ON drift_samples (model, id);
        CREATE INDEX ix_drift_samples_event ON drift_samples (event_id);
        """;
}
