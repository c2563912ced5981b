using System.Data;
using System.Data.Common;
using Npgsql;

namespace MaaS.Gateway.Security;

/// <summary>
/// Keys in PostgreSQL (Gateway:Auth:ConnectionString), shared by every gateway replica. The tables carry a
/// <c>gateway_</c> prefix because the database may be the registry's. Writes run read-committed under a
/// transaction-level advisory lock, so create, revoke and the bootstrap of the admin key run one at a time
/// across all replicas (two gateways starting on an empty database make one admin key, and the last admin
/// key cannot be revoked from two replicas at once).
/// </summary>
public sealed partial class PostgresApiKeyDatabase : ApiKeyDatabase
{
    /// <summary>Advisory lock of key writes (one bigint key: a separate space from the registry's two-int locks).</summary>
    internal const long WriteLock = 0x6761_7465_6B65_7973; // "gatekeys"

    /// <summary>Advisory lock of the migrations.</summary>
    internal const long MigrationLock = 0x6761_7465_6D69_6772; // "gatemigr"

    /// <summary>The schema history, oldest first. Never edit a shipped step: append a new one.</summary>
    private static readonly (int Version, string Name, string Sql)[] Migrations =
    [
        (1, "api keys", """
            CREATE TABLE gateway_api_keys (
                id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
                name                TEXT COLLATE "C" NOT NULL,
                hash                BYTEA            NOT NULL,
                scopes              TEXT             NOT NULL,
                requests_per_second DOUBLE PRECISION NOT NULL,
                burst               INTEGER          NOT NULL,
                created_at          TIMESTAMPTZ      NOT NULL,
                revoked_at          TIMESTAMPTZ      NULL);
            -- A name is unique among active keys only: a revoked key's name can be reused.
            CREATE UNIQUE INDEX ux_gateway_api_keys_active_name ON gateway_api_keys (name) WHERE revoked_at IS NULL;
            """),
    ];

    private readonly NpgsqlDataSource dataSource;
    private readonly ILogger logger;

    /// <summary>Prepares the connection pool; nothing is opened yet.</summary>
    public PostgresApiKeyDatabase(string connectionString, ILogger logger)
    {
        this.logger = logger;
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "maas-gateway";
        }
        dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    /// <inheritdoc />
    protected override string Table => "gateway_api_keys";

    /// <summary>
    /// Applies the missing steps in one transaction under an advisory lock: a second gateway starting at the
    /// same moment waits, then finds the schema current.
    /// </summary>
    public override void Migrate()
    {
        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        Execute(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLock});");
        Execute(connection, transaction,
            "CREATE TABLE IF NOT EXISTS gateway_schema_version (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL);");
        using var query = Command(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM gateway_schema_version;");
        var current = Convert.ToInt32(query.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        var known = Migrations[^1].Version;
        if (current > known)
        {
            throw new InvalidOperationException(
                $"The gateway's key tables are at schema version {current}, newer than this build knows ({known}); run a newer gateway.");
        }
        foreach (var (version, name, sql) in Migrations.Where(m => m.Version > current))
        {
            Execute(connection, transaction, sql);
            using var record = Command(connection, transaction,
                "INSERT INTO gateway_schema_version (version, name, applied_at) VALUES (@v, @n, @at);",
                ("v", version), ("n", name), ("at", DateTimeOffset.UtcNow));
            record.ExecuteNonQuery();
            LogMigrationApplied(logger, version, name);
        }
        transaction.Commit();
    }

    /// <inheritdoc />
    protected override DbConnection Open() => dataSource.OpenConnection();

    /// <inheritdoc />
    protected override DbTransaction BeginWrite(DbConnection connection)
    {
        var transaction = ((NpgsqlConnection)connection).BeginTransaction(IsolationLevel.ReadCommitted);
        // Held until commit or rollback; read-committed statements after it see what the previous holder committed.
        Execute(connection, transaction, $"SELECT pg_advisory_xact_lock({WriteLock});");
        return transaction;
    }

    /// <inheritdoc />
    protected override object ToDb(DateTimeOffset time) => time.ToUniversalTime();

    /// <inheritdoc />
    protected override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    /// <inheritdoc />
    protected override bool IsUniqueViolation(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    /// <inheritdoc />
    public override void Dispose()
    {
        dataSource.Dispose();
        base.Dispose();
    }

    private static void Execute(DbConnection connection, DbTransaction transaction, string sql)
    {
        using var command = Command(connection, transaction, sql);
        command.ExecuteNonQuery();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway key tables migrated to version {Version} ({Name}) on PostgreSQL")]
    private static partial void LogMigrationApplied(ILogger logger, int version, string name);
}
