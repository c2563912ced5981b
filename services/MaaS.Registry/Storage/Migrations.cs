using MaaS.ServiceDefaults.Outbox;

namespace MaaS.Registry.Storage;

/// <summary>One schema step; applied once, in order, and recorded in <c>schema_version</c>.</summary>
/// <param name="Version">Position in the sequence, starting at 1.</param>
/// <param name="Name">What the step does.</param>
/// <param name="Sql">Statements run in one transaction.</param>
public sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// The registry's schema history. Never edit a shipped step: add a new one, so every database reaches
/// the same schema whatever version it started from.
/// </summary>
public static class Migrations
{
    /// <summary>All steps, oldest first.</summary>
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "models, versions, aliases, datasets, outbox", """
            CREATE TABLE models (
                name        TEXT NOT NULL PRIMARY KEY,
                description TEXT NOT NULL,
                task        TEXT NOT NULL,
                created_at  TEXT NOT NULL
            );

            CREATE TABLE versions (
                model                   TEXT    NOT NULL REFERENCES models(name),
                version                 INTEGER NOT NULL CHECK (version >= 1),
                artifact_digest         TEXT    NOT NULL,
                artifact_size           INTEGER NOT NULL CHECK (artifact_size > 0),
                signature_json          TEXT    NOT NULL,
                metrics_json            TEXT    NOT NULL,
                hyperparameters_json    TEXT    NOT NULL,
                lineage_dataset_name    TEXT    NOT NULL,
                lineage_dataset_version INTEGER NOT NULL,
                lineage_dataset_digest  TEXT    NOT NULL,
                lineage_training_job_id TEXT    NOT NULL,
                lineage_parent_version  INTEGER NOT NULL,
                status                  TEXT    NOT NULL,
                created_by              TEXT    NOT NULL,
                created_at              TEXT    NOT NULL,
                PRIMARY KEY (model, version)
            );
            CREATE INDEX versions_by_digest ON versions(artifact_digest);

            CREATE TABLE aliases (
                model      TEXT    NOT NULL REFERENCES models(name),
                alias      TEXT    NOT NULL,
                version    INTEGER NOT NULL,
                updated_at TEXT    NOT NULL,
                PRIMARY KEY (model, alias),
                FOREIGN KEY (model, version) REFERENCES versions(model, version)
            );

            CREATE TABLE alias_history (
                id           INTEGER PRIMARY KEY AUTOINCREMENT,
                model        TEXT    NOT NULL REFERENCES models(name),
                alias        TEXT    NOT NULL,
                from_version INTEGER NOT NULL,
                to_version   INTEGER NOT NULL,
                actor        TEXT    NOT NULL,
                reason       TEXT    NOT NULL,
                at           TEXT    NOT NULL
            );
            CREATE INDEX alias_history_by_alias ON alias_history(model, alias, id);

            CREATE TABLE datasets (
                name         TEXT    NOT NULL,
                version      INTEGER NOT NULL CHECK (version >= 1),
                digest       TEXT    NOT NULL,
                size         INTEGER NOT NULL,
                row_count    INTEGER NOT NULL,
                columns_json TEXT    NOT NULL,
                format       TEXT    NOT NULL,
                description  TEXT    NOT NULL,
                created_at   TEXT    NOT NULL,
                PRIMARY KEY (name, version)
            );
            CREATE INDEX datasets_by_digest ON datasets(digest);

            """ + SqliteOutbox.CreateTableSql),
    ];
}
