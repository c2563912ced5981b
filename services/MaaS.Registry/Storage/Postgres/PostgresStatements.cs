using MaaS.Registry.Storage.Data;
using MaaS.Registry.Storage.Sqlite;

namespace MaaS.Registry.Storage.Postgres;

/// <summary>
/// The registry's SQL for PostgreSQL: SQLite's statements are standard SQL that PostgreSQL runs as they
/// are (<c>ON CONFLICT</c>, <c>RETURNING</c>, <c>LIMIT</c>, row values), except for what this list
/// replaces — locks (SQLite's <c>BEGIN IMMEDIATE</c> serialises all writers; here a write locks what it
/// changes) and the one function SQLite spells differently. The store tests run every statement on both.
/// </summary>
public static class PostgresStatements
{
    /// <summary>Advisory-lock class of dataset names (the first key of the two-key form).</summary>
    internal const int DatasetLockClass = 1;

    /// <summary>
    /// Advisory-lock class of the outbox: key 0 orders enqueues (see <see cref="PostgresDialect.EnqueueEvent"/>), key 1
    /// makes one registry process the dispatcher at a time (see <see cref="PostgresDialect.TryLeadAsync"/>).
    /// </summary>
    internal const int OutboxLockClass = 2;

    /// <summary>Advisory-lock class of schema migrations.</summary>
    internal const int MigrationLockClass = 3;

    /// <summary>Advisory-lock class of blob commits and removals across registry processes (see <see cref="PostgresDialect.LockBlobsAsync"/>).</summary>
    internal const int BlobLockClass = 4;

    private const string ModelColumns = """
        m.name, m.description, m.task, m.owner, m.created_at,
        (SELECT COALESCE(MAX(v.version), 0) FROM versions v WHERE v.model = m.name)
        """;

    /// <summary>The statements.</summary>
    public static RegistryStatements Create() => SqliteStatements.Create() with
    {
        // The row lock makes every change of one model wait for the one before it to commit: version numbers,
        // alias moves and deployment revisions are decided on current data, and their events queue in order.
        LockModel = "SELECT name FROM models WHERE name = @model FOR UPDATE;",
        SearchModels = $"""
            SELECT {ModelColumns}
            FROM models m
            WHERE m.name > @after AND m.name >= @prefix AND m.name < @prefix_end
              AND (@task = '' OR m.task = @task)
              AND (@tag = '' OR EXISTS (SELECT 1 FROM model_tags t WHERE t.model = m.name AND t.tag = @tag))
              AND (@alias = '' OR EXISTS (SELECT 1 FROM aliases a WHERE a.model = m.name AND a.alias = @alias))
              AND (@query = '' OR strpos(lower(m.name), @query) > 0 OR strpos(lower(m.description), @query) > 0)
            ORDER BY m.name
            LIMIT @limit;
            """,
        // A dataset name has no row to lock before its first version: a transaction-scoped advisory lock on its hash.
        LockDatasetName = $"SELECT pg_advisory_xact_lock({DatasetLockClass}, hashtext(@name));",
    };
}
