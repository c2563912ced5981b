using MaaS.Registry.Storage.Data;
using MaaS.Registry.Storage.Sqlite;

namespace MaaS.Registry.Storage.Postgres;

/// <summary>
/// The registry's PostgreSQL schema history: the same steps, numbers and names as
/// <see cref="SqliteMigrations"/> (a test holds them in step), in PostgreSQL's types. Never edit a shipped
/// step: add a new one to both lists. Names that are paged or ranged compare byte-wise
/// (<c>COLLATE "C"</c>) whatever the database's default collation, as SQLite's do; times are
/// <c>timestamptz</c>; JSON columns are text, as the stores read them.
/// </summary>
public static class PostgresMigrations
{
    /// <summary>The outbox, as the dispatcher reads it through <see cref="PostgresDialect"/>.</summary>
    private const string OutboxSql = """
        CREATE TABLE IF NOT EXISTS outbox (
            id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            message_type TEXT        NOT NULL,
            payload      TEXT        NOT NULL,
            created_at   TIMESTAMPTZ NOT NULL,
            sent_at      TIMESTAMPTZ NULL);
        -- Only unsent rows are looked up; a partial index stays as small as the backlog.
        CREATE INDEX IF NOT EXISTS ix_outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
        """;

    /// <summary>All steps, oldest first.</summary>
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "models, versions, aliases, datasets, outbox", """
            CREATE TABLE models (
                name        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                description TEXT        NOT NULL,
                task        TEXT COLLATE "C" NOT NULL,
                created_at  TIMESTAMPTZ NOT NULL
            );

            CREATE TABLE versions (
                model                   TEXT COLLATE "C" NOT NULL REFERENCES models(name),
                version                 BIGINT      NOT NULL CHECK (version >= 1),
                artifact_digest         TEXT        NOT NULL,
                artifact_size           BIGINT      NOT NULL CHECK (artifact_size > 0),
                signature_json          TEXT        NOT NULL,
                metrics_json            TEXT        NOT NULL,
                hyperparameters_json    TEXT        NOT NULL,
                lineage_dataset_name    TEXT        NOT NULL,
                lineage_dataset_version BIGINT      NOT NULL,
                lineage_dataset_digest  TEXT        NOT NULL,
                lineage_training_job_id TEXT        NOT NULL,
                lineage_parent_version  BIGINT      NOT NULL,
                status                  TEXT        NOT NULL,
                created_by              TEXT        NOT NULL,
                created_at              TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (model, version)
            );
            CREATE INDEX versions_by_digest ON versions(artifact_digest);

            CREATE TABLE aliases (
                model      TEXT COLLATE "C" NOT NULL REFERENCES models(name),
                alias      TEXT COLLATE "C" NOT NULL,
                version    BIGINT      NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (model, alias),
                FOREIGN KEY (model, version) REFERENCES versions(model, version)
            );

            CREATE TABLE alias_history (
                id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                model        TEXT COLLATE "C" NOT NULL REFERENCES models(name),
                alias        TEXT COLLATE "C" NOT NULL,
                from_version BIGINT      NOT NULL,
                to_version   BIGINT      NOT NULL,
                actor        TEXT        NOT NULL,
                reason       TEXT        NOT NULL,
                at           TIMESTAMPTZ NOT NULL
            );
            CREATE INDEX alias_history_by_alias ON alias_history(model, alias, id);

            CREATE TABLE datasets (
                name         TEXT COLLATE "C" NOT NULL,
                version      BIGINT      NOT NULL CHECK (version >= 1),
                digest       TEXT        NOT NULL,
                size         BIGINT      NOT NULL,
                row_count    BIGINT      NOT NULL,
                columns_json TEXT        NOT NULL,
                format       TEXT        NOT NULL,
                description  TEXT        NOT NULL,
                created_at   TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (name, version)
            );
            CREATE INDEX datasets_by_digest ON datasets(digest);

            """ + OutboxSql),

        new(2, "owners, tags, model cards, version counters, alias history kinds, dataset schema and statistics, deployments", """
            ALTER TABLE models ADD COLUMN owner TEXT NOT NULL DEFAULT '';
            -- Version numbers are never reused, even after the highest one is deleted.
            ALTER TABLE models ADD COLUMN last_version BIGINT NOT NULL DEFAULT 0;
            UPDATE models SET last_version = (SELECT COALESCE(MAX(v.version), 0) FROM versions v WHERE v.model = models.name);
            CREATE INDEX models_by_task ON models(task, name);

            CREATE TABLE model_tags (
                model TEXT COLLATE "C" NOT NULL REFERENCES models(name),
                tag   TEXT COLLATE "C" NOT NULL,
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
                model          TEXT COLLATE "C" NOT NULL REFERENCES models(name),
                revision       BIGINT      NOT NULL CHECK (revision >= 1),
                shadow_version BIGINT      NOT NULL,
                shadow_percent INTEGER     NOT NULL CHECK (shadow_percent BETWEEN 0 AND 100),
                actor          TEXT        NOT NULL,
                reason         TEXT        NOT NULL,
                created_at     TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (model, revision)
            );

            -- No foreign key to versions: a revision in the history may name a version deleted since.
            CREATE TABLE deployment_entries (
                model    TEXT COLLATE "C" NOT NULL,
                revision BIGINT  NOT NULL,
                position INTEGER NOT NULL,
                version  BIGINT  NOT NULL,
                pool     TEXT    NOT NULL,
                weight   INTEGER NOT NULL CHECK (weight BETWEEN 0 AND 100),
                PRIMARY KEY (model, revision, position),
                FOREIGN KEY (model, revision) REFERENCES deployments(model, revision)
            );
            """),
    ];
}
