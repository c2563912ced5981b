using MaaS.ServiceDefaults.Outbox;
using Microsoft.Data.Sqlite;

namespace MaaS.Registry.Storage;

/// <summary>
/// The SQLite file: connections with foreign keys and a busy timeout, WAL journal, and the migration
/// runner that brings the schema up to date before the first connection is handed out.
/// </summary>
public sealed partial class RegistryDatabase : IOutboxDatabase
{
    private const int BusyTimeoutMilliseconds = 5000;

    private readonly string _connectionString;
    private readonly ILogger<RegistryDatabase> _logger;
    private readonly Lock _migrationLock = new();
    private volatile bool _migrated;

    /// <summary>Creates the folder of the database file; nothing is opened yet.</summary>
    public RegistryDatabase(RegistryPaths paths, ILogger<RegistryDatabase> logger)
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

    /// <summary>An open connection to an up-to-date schema.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        EnsureMigrated();
        return await OpenRawAsync(cancellationToken);
    }

    /// <summary>An open connection to an up-to-date schema, for the shared outbox dispatcher.</summary>
    public SqliteConnection Open()
    {
        EnsureMigrated();
        var connection = Connect();
        connection.Open();
        Configure(connection);
        return connection;
    }

    /// <summary>Applies pending migrations once per process; later calls return at once.</summary>
    public void EnsureMigrated()
    {
        if (_migrated) return;
        lock (_migrationLock)
        {
            if (_migrated) return;
            using var connection = Connect();
            connection.Open();
            Configure(connection);
            // WAL lets readers go on while a writer commits; the setting is stored in the file itself.
            connection.Scalar("PRAGMA journal_mode = WAL;");
            connection.Execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);");
            var current = Convert.ToInt32(connection.Scalar("SELECT COALESCE(MAX(version), 0) FROM schema_version;"));
            var known = Migrations.All[^1].Version;
            if (current > known)
            {
                throw new InvalidOperationException(
                    $"The registry database is at schema version {current}, newer than this build knows ({known}); run a newer registry.");
            }
            foreach (var migration in Migrations.All.Where(m => m.Version > current).OrderBy(m => m.Version))
            {
                using var transaction = connection.BeginTransaction();
                connection.Execute(migration.Sql, transaction);
                connection.Execute("INSERT INTO schema_version(version, name, applied_at) VALUES ($v, $n, $at);", transaction,
                    ("$v", migration.Version), ("$n", migration.Name), ("$at", Sql.Now()));
                transaction.Commit();
                LogMigrationApplied(_logger, migration.Version, migration.Name);
            }
            _migrated = true;
        }
    }

    private async Task<SqliteConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        var connection = Connect();
        await connection.OpenAsync(cancellationToken);
        Configure(connection);
        return connection;
    }

    private SqliteConnection Connect() => new(_connectionString);

    // Concurrent writers wait for each other instead of failing with "database is locked".
    private static void Configure(SqliteConnection connection) =>
        connection.Execute($"PRAGMA busy_timeout = {BusyTimeoutMilliseconds};");

    [LoggerMessage(Level = LogLevel.Information, Message = "Registry schema migrated to version {Version} ({Name})")]
    private static partial void LogMigrationApplied(ILogger logger, int version, string name);
}
