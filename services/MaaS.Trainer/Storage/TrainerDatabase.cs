using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Data;
using MaaS.ServiceDefaults.Outbox;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Storage;

/// <summary>The trainer's SQLite file {Mesh:DataDirectory}/trainer.db: jobs, their progress history and the outbox.</summary>
public sealed class TrainerDatabase : IOutboxDatabase
{
    // Each entry runs once, in order; the index of the last one applied is kept in schema_version.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE jobs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            model TEXT NOT NULL,
            state INTEGER NOT NULL,
            spec TEXT NOT NULL,
            message TEXT NOT NULL,
            registered_version INTEGER NOT NULL,
            metrics TEXT NOT NULL,
            epochs_done INTEGER NOT NULL,
            correlation_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            started_at TEXT NULL,
            finished_at TEXT NULL,
            replica_id TEXT NOT NULL,
            progress TEXT NULL);
        CREATE INDEX ix_jobs_model ON jobs (model, seq);
        CREATE INDEX ix_jobs_state ON jobs (state, replica_id);
        CREATE TABLE job_progress (
            job_id TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            train_loss REAL NOT NULL,
            validation_loss REAL NULL,
            metrics TEXT NOT NULL,
            elapsed_ms INTEGER NOT NULL,
            eta_ms INTEGER NOT NULL,
            PRIMARY KEY (job_id, epoch));
        """ + SqliteOutbox.CreateTableSql,
        // ListJobs pages by (created_at, id): a position every replica's store shares, so pages can be merged.
        """
        CREATE INDEX ix_jobs_created ON jobs (created_at, id);
        CREATE INDEX ix_jobs_model_created ON jobs (model, created_at, id)
        """,
    ];

    private readonly string connectionString;

    /// <summary>Opens (creating when missing) {Mesh:DataDirectory}/trainer.db and applies migrations.</summary>
    public TrainerDatabase(IOptions<MeshHostOptions> host)
    {
        DataDirectory = Path.GetFullPath(host.Value.DataDirectory);
        connectionString = SqliteFiles.ConnectionString(DataDirectory, "trainer.db");
        SqliteFiles.Migrate(connectionString, Migrations);
    }

    /// <summary>The full path of Mesh:DataDirectory (checkpoints live under it too).</summary>
    public string DataDirectory { get; }

    /// <inheritdoc />
    public SqliteConnection Open() => SqliteFiles.Open(connectionString);
}
