using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Data;
using MaaS.ServiceDefaults.Outbox;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Storage;

/// <summary>
/// The updater's SQLite file: policies, ingested rows, retrainings, decisions, the timeline, drift
/// samples, rollouts and the outbox. Each part's tables are defined next to the code that owns them.
/// </summary>
public sealed class UpdaterDatabase : IOutboxDatabase
{
    // Each entry runs once, in order; the index of the last one applied is kept in schema_version.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE policies (
            model TEXT PRIMARY KEY,
            retrain_after_rows INTEGER NOT NULL,
            holdout_fraction REAL NOT NULL,
            min_improvement REAL NOT NULL,
            updated_at TEXT NOT NULL);
        CREATE TABLE ingested_rows (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            model TEXT NOT NULL,
            row_key TEXT NOT NULL,
            row_values TEXT NOT NULL,
            dataset_version INTEGER NOT NULL,
            retrain_id TEXT NULL);
        CREATE INDEX ix_rows_pending ON ingested_rows (model, retrain_id);
        CREATE TABLE retrains (
            id TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            champion_version INTEGER NOT NULL,
            state TEXT NOT NULL,
            columns TEXT NOT NULL,
            holdout TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL);
        CREATE INDEX ix_retrains_model ON retrains (model, state);
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            model TEXT NOT NULL,
            job_id TEXT NOT NULL,
            champion_version INTEGER NOT NULL,
            challenger_version INTEGER NOT NULL,
            metric TEXT NOT NULL,
            champion_score REAL NOT NULL,
            challenger_score REAL NOT NULL,
            promoted INTEGER NOT NULL,
            reason TEXT NOT NULL,
            decided_at TEXT NOT NULL);
        """ + SqliteOutbox.CreateTableSql,
        TimelineSchema.Sql,
        CoreSchema.V2,
        DriftSchema.Sql,
        RolloutSchema.Sql,
    ];

    private readonly string connectionString;

    /// <summary>Opens (creating when missing) {Mesh:DataDirectory}/updater.db and applies migrations.</summary>
    public UpdaterDatabase(IOptions<MeshHostOptions> host)
    {
        connectionString = SqliteFiles.ConnectionString(host.Value.DataDirectory, "updater.db");
        SqliteFiles.Migrate(connectionString, Migrations);
    }

    /// <inheritdoc />
    public SqliteConnection Open() => SqliteFiles.Open(connectionString);
}
