using System.Data.Common;
using System.Globalization;
using MaaS.Contracts;
using MaaS.Registry.Storage.Data;
using MaaS.ServiceDefaults.Outbox;
using Microsoft.Data.Sqlite;

namespace MaaS.Registry.Storage.Sqlite;

/// <summary>
/// The SQLite file: connections with foreign keys and a busy timeout, WAL journal, <c>BEGIN IMMEDIATE</c>
/// write transactions, ISO-8601 UTC text times, the shared SQLite outbox, and the migration runner that
/// brings the schema up to date before the first connection is handed out.
/// </summary>
public sealed partial class SqliteDialect : IRegistryDialect, IOutboxDatabase
{
    private const int BusyTimeoutMilliseconds = 5000;

    private readonly string _connectionString;
    private readonly ILogger<SqliteDialect> _logger;
    private readonly Lock _migrationLock = new();
    private volatile bool _migrated;

    /// <summary>Creates the folder of the database file; nothing is opened yet.</summary>
    public SqliteDialect(RegistryPaths paths, ILogger<SqliteDialect> logger)
    {
        _logger = logger;
        Directory.CreateDirectory(Path.GetDirectoryName(paths.DatabasePath)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = paths.DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <inheritdoc />
    public string Name => "sqlite";

    /// <inheritdoc />
    public RegistryStatements Sql { get; } = SqliteStatements.Create();

    /// <inheritdoc />
    public string ParameterName(string name) => "@" + name;

    /// <inheritdoc />
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        EnsureMigrated();
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            Configure(connection);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>An open connection to an up-to-date schema, for the shared outbox dispatcher.</summary>
    public SqliteConnection Open()
    {
        EnsureMigrated();
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Configure(connection);
        return connection;
    }

    /// <inheritdoc />
    public Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // deferred: false = BEGIN IMMEDIATE: the write lock is taken now, so the reads that decide a write
        // (next number, current target) cannot go stale before it.
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    /// <inheritdoc />
    public object ToDbTime(DateTimeOffset time) => ToText(time);

    /// <inheritdoc />
    public DateTimeOffset ReadTime(DbDataReader reader, int ordinal) =>
        DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    /// <inheritdoc />
    public void EnqueueEvent(DbConnection connection, DbTransaction transaction, MeshMessage message) =>
        SqliteOutbox.Enqueue((SqliteConnection)connection, (SqliteTransaction)transaction, message);

    /// <inheritdoc />
    public void EnsureMigrated()
    {
        if (_migrated) return;
        lock (_migrationLock)
        {
            if (_migrated) return;
            using var connection = new SqliteConnection(_connectionString);
            connection.Open();
            Configure(connection);
            // WAL lets readers go on while a writer commits; the setting is stored in the file itself.
            Run(connection, null, "PRAGMA journal_mode = WAL;");
            Run(connection, null, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);");
            using (var query = connection.CreateCommand())
            {
                query.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version;";
                var current = Convert.ToInt32(query.ExecuteScalar(), CultureInfo.InvariantCulture);
                var known = SqliteMigrations.All[^1].Version;
                if (current > known)
                {
                    throw new InvalidOperationException(
                        $"The registry database is at schema version {current}, newer than this build knows ({known}); run a newer registry.");
                }
                foreach (var migration in SqliteMigrations.All.Where(m => m.Version > current).OrderBy(m => m.Version))
                {
                    using var transaction = connection.BeginTransaction();
                    Run(connection, transaction, migration.Sql);
                    Run(connection, transaction, "INSERT INTO schema_version(version, name, applied_at) VALUES (@v, @n, @at);",
                        ("@v", migration.Version), ("@n", migration.Name), ("@at", ToText(DateTimeOffset.UtcNow)));
                    transaction.Commit();
                    LogMigrationApplied(_logger, migration.Version, migration.Name);
                }
            }
            _migrated = true;
        }
    }

    /// <summary>A time as stored: ISO 8601 UTC with 7 fractional digits, so text order is time order.</summary>
    public static string ToText(DateTimeOffset time) => time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    // Concurrent writers wait for each other instead of failing with "database is locked".
    private static void Configure(SqliteConnection connection) =>
        Run(connection, null, $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds};");

    private static void Run(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        command.ExecuteNonQuery();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Registry schema migrated to version {Version} ({Name})")]
    private static partial void LogMigrationApplied(ILogger logger, int version, string name);
}
