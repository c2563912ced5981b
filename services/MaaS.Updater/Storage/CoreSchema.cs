namespace MaaS.Updater.Storage;

/// <summary>Tables of policies, ingestion, retraining and the gate added after the first schema.</summary>
public static class CoreSchema
{
    /// <summary>
    /// Migration 3 (applied once, in order; never edit after it shipped, add a new one). Policies become
    /// protobuf JSON (the old columns stay, so rows written before keep reading); retrainings remember the
    /// rule that fired, the update's correlation id and the challenger; feedback rows and the per-model
    /// trigger state (schedule anchor, last drift and feedback checks) survive restarts; seen_events makes
    /// the timeline consumers idempotent.
    /// </summary>
    public const string V2 = """
        ALTER TABLE policies ADD COLUMN policy_json TEXT NULL;
        ALTER TABLE retrains ADD COLUMN rule TEXT NOT NULL DEFAULT 'rows';
        ALTER TABLE retrains ADD COLUMN correlation_id TEXT NOT NULL DEFAULT '';
        ALTER TABLE retrains ADD COLUMN challenger_version INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE decisions ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
        CREATE INDEX ix_rows_key ON ingested_rows (model, row_key);
        CREATE TABLE feedback_rows (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            model TEXT NOT NULL,
            row_values TEXT NOT NULL,
            received_at TEXT NOT NULL);
        CREATE INDEX ix_feedback_model ON feedback_rows (model, id);
        CREATE TABLE trigger_state (
            model TEXT PRIMARY KEY,
            schedule_anchor TEXT NULL,
            drift_state TEXT NOT NULL DEFAULT '',
            drift_checked_at TEXT NULL,
            drift_fired_champion INTEGER NOT NULL DEFAULT 0,
            feedback_checked_id INTEGER NOT NULL DEFAULT 0,
            feedback_fired_champion INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE seen_events (
            event_id TEXT PRIMARY KEY,
            seen_at TEXT NOT NULL);
        """;
}
