using MaaS.Registry.Storage.Data;
using MaaS.ServiceDefaults.Outbox;

namespace MaaS.Registry.Storage.Sqlite;

/// <summary>
/// The registry's SQLite schema history. Never edit a shipped step: add a new one, so every database
/// reaches the same schema whatever version it started from. Times are ISO-8601 UTC text (sorts as time).
/// </summary>
public static class SqliteMigrations
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

        new(2, "owners, tags, model cards, version counters, alias history kinds, dataset schema and statistics, deployments", """
            ALTER TABLE models ADD COLUMN owner TEXT NOT NULL DEFAULT '';
            -- Version numbers are never reused, even after the highest one is deleted.
            ALTER TABLE models ADD COLUMN last_version INTEGER NOT NULL DEFAULT 0;
            UPDATE models SET last_version = (SELECT COALESCE(MAX(v.version), 0) FROM versions v WHERE v.model = models.name);
            CREATE INDEX models_by_task ON models(task, name);

            CREATE TABLE model_tags (
                model TEXT NOT NULL REFERENCES models(name),
                tag   TEXT NOT NULL,
                PRIMARY KEY (model, tag)
            );
            CREATE INDEX model_tags_by_tag ON model_tags(tag, model);

            ALTER TABLE versions ADD COLUMN model_card TEXT NOT NULL DEFAULT '';

            CREATE INDEX aliases_by_alias ON aliases(alias, model);
            CREATE INDEX aliases_by_version ON aliases(model, version);
            ALTER TABLE alias_history ADD COLUMN kind TEXT NOT NULL DEFAULT 'set';
            CREATE INDEX alias_history_by_time ON alias_history(model, alias, at, id);

            ALTER TABLE datasets ADD COLUMN schema_json TEXT NOT NULL DEFAULT '[]';
            ALTER TABLE datasets ADD COLUMN statistics_json TEXT NOT NULL DEFAULT '[]';

            CREATE TABLE deployments (
                model          TEXT    NOT NULL REFERENCES models(name),
                revision       INTEGER NOT NULL CHECK (revision >= 1),
                shadow_version INTEGER NOT NULL,
                shadow_percent INTEGER NOT NULL CHECK (shadow_percent BETWEEN 0 AND 100),
                actor          TEXT    NOT NULL,
                reason         TEXT    NOT NULL,
                created_at     TEXT    NOT NULL,
                PRIMARY KEY (model, revision)
            );

            -- No foreign key to versions: a revision in the history may name a version deleted since.
            CREATE TABLE deployment_entries (
                model    TEXT    NOT NULL,
                revision INTEGER NOT NULL,
                position INTEGER NOT NULL,
                version  INTEGER NOT NULL,
                pool     TEXT    NOT NULL,
                weight   INTEGER NOT NULL CHECK (weight BETWEEN 0 AND 100),
                PRIMARY KEY (model, revision, position),
                FOREIGN KEY (model, revision) REFERENCES deployments(model, revision)
            );
            """),
    ];
}
