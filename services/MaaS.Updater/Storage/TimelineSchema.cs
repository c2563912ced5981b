namespace MaaS.Updater.Storage;

/// <summary>The timeline: one row per thing the updater saw or did for a model, for ExplainModel.</summary>
public static class TimelineSchema
{
    /// <summary>Migration 2.</summary>
    public const string Sql = """
        CREATE TABLE timeline (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            model TEXT NOT NULL,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            summary TEXT NOT NULL,
            details TEXT NOT NULL,
            correlation_id TEXT NOT NULL);
        CREATE INDEX ix_timeline_model ON timeline (model, id);
        """;
}
