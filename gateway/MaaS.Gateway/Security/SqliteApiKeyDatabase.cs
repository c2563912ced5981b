using System.Data;
using System.Data.Common;
using System.Globalization;
using MaaS.ServiceDefaults.Data;
using Microsoft.Data.Sqlite;

namespace MaaS.Gateway.Security;

/// <summary>
/// Keys in {Mesh:DataDirectory}/gateway.db (SQLite, WAL, <see cref="SqliteFiles"/> migrations): the default,
/// for one gateway. Writes take the file's write lock up front (BEGIN IMMEDIATE), so two processes sharing
/// the file cannot both pass a rule and then both commit.
/// </summary>
public sealed class SqliteApiKeyDatabase(string dataDirectory) : ApiKeyDatabase
{
    /// <summary>Never edit a shipped step: append a new one.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            hash BLOB NOT NULL,
            scopes TEXT NOT NULL,
            requests_per_second REAL NOT NULL,
            burst INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT NULL);
        CREATE UNIQUE INDEX ux_api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
        """,
    ];

    private readonly string connectionString = SqliteFiles.ConnectionString(dataDirectory, "gateway.db");

    /// <inheritdoc />
    protected override string Table => "api_keys";

    /// <inheritdoc />
    public override void Migrate() => SqliteFiles.Migrate(connectionString, Migrations);

    /// <inheritdoc />
    protected override DbConnection Open() => SqliteFiles.Open(connectionString);

    /// <inheritdoc />
    protected override DbTransaction BeginWrite(DbConnection connection) =>
        ((SqliteConnection)connection).BeginTransaction(IsolationLevel.Serializable, deferred: false);

    /// <inheritdoc />
    protected override object ToDb(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    protected override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) =>
        DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    /// <inheritdoc />
    protected override bool IsUniqueViolation(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: 19 }; // SQLITE_CONSTRAINT
}
