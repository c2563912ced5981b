using System.Data;
using System.Data.Common;
using MaaS.Contracts;
using MaaS.Registry.Storage.Data;
using MaaS.ServiceDefaults.Outbox;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MaaS.Registry.Storage.Postgres;

/// <summary>
/// A PostgreSQL database (Npgsql): pooled connections from one data source, read-committed write
/// transactions in which the stores lock what they change (<see cref="PostgresStatements"/>),
/// <c>timestamptz</c> times, the outbox table with the dispatcher's side of it (<see cref="IOutboxStore"/>),
/// and the migration runner, which applies <see cref="PostgresMigrations"/> once under an advisory lock so
/// that several registries starting on one database do not race.
/// </summary>
public sealed partial class PostgresDialect : IRegistryDialect, IOutboxStore, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<PostgresDialect> _logger;
    private readonly Lock _migrationLock = new();
    private volatile bool _migrated;

    /// <summary>Prepares the connection pool of <c>Registry:ConnectionString</c>; nothing is opened yet.</summary>
    public PostgresDialect(IOptions<RegistryOptions> options, ILogger<PostgresDialect> logger)
    {
        _logger = logger;
        var builder = new NpgsqlConnectionStringBuilder(options.Value.ConnectionString);
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "maas-registry";
        }
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    /// <inheritdoc />
    public string Name => "postgres";

    /// <inheritdoc />
    public RegistryStatements Sql { get; } = PostgresStatements.Create();

    /// <inheritdoc />
    public string ParameterName(string name) => "@" + name;

    /// <inheritdoc />
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        EnsureMigrated();
        return await _dataSource.OpenConnectionAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await ((NpgsqlConnection)connection).BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);

    /// <inheritdoc />
    public object ToDbTime(DateTimeOffset time) => time.ToUniversalTime();

    /// <inheritdoc />
    public DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    /// <summary>
    /// Writes an event to the outbox inside the change's transaction. The transaction first takes the
    /// outbox's advisory lock, held until it commits: outbox ids are then handed out in commit order, so
    /// the dispatcher, which publishes by id, never sees a later id before an earlier one has committed
    /// and publishes in the order the changes happened. Writers therefore enqueue after their last
    /// locking statement (every store does), keeping the serialised part to the commit itself.
    /// </summary>
    public void EnqueueEvent(DbConnection connection, DbTransaction transaction, MeshMessage message)
    {
        var (type, payload) = OutboxMessages.Serialize(message);
        using var command = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({PostgresStatements.OutboxLockClass}, 0);
            INSERT INTO outbox (message_type, payload, created_at) VALUES (@type, @payload, @at);
            """, (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        command.Parameters.AddWithValue("type", type);
        command.Parameters.AddWithValue("payload", payload);
        command.Parameters.AddWithValue("at", DateTimeOffset.UtcNow);
        command.ExecuteNonQuery();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OutboxMessage>> ReadUnsentAsync(int limit, CancellationToken cancellationToken)
    {
        EnsureMigrated();
        await using var command = _dataSource.CreateCommand(
            "SELECT id, message_type, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT @limit;");
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var pending = new List<OutboxMessage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            pending.Add(new OutboxMessage(reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }
        return pending;
    }

    /// <inheritdoc />
    public async Task<IAsyncDisposable> LockBlobsAsync()
    {
        EnsureMigrated();
        var connection = await _dataSource.OpenConnectionAsync();
        try
        {
            await using var command = new NpgsqlCommand($"SELECT pg_advisory_lock({PostgresStatements.BlobLockClass}, 0);", connection);
            await command.ExecuteNonQueryAsync();
            return new SessionLock(connection, PostgresStatements.BlobLockClass, 0);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// A session advisory lock on a connection of its own, held for one batch: registry replicas sharing this
    /// database take turns, and whoever holds it publishes the oldest unsent rows first.
    /// </remarks>
    public async Task<IAsyncDisposable?> TryLeadAsync(CancellationToken cancellationToken)
    {
        EnsureMigrated();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand($"SELECT pg_try_advisory_lock({PostgresStatements.OutboxLockClass}, 1);", connection);
            if (await command.ExecuteScalarAsync(cancellationToken) is true)
            {
                return new SessionLock(connection, PostgresStatements.OutboxLockClass, 1);
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        await connection.DisposeAsync();
        return null;
    }

    /// <inheritdoc />
    public async Task MarkSentAsync(long id, DateTimeOffset sentAt, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("UPDATE outbox SET sent_at = @at WHERE id = @id;");
        command.Parameters.AddWithValue("at", sentAt.ToUniversalTime());
        command.Parameters.AddWithValue("id", id);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public void EnsureMigrated()
    {
        if (_migrated) return;
        lock (_migrationLock)
        {
            if (_migrated) return;
            using var connection = _dataSource.OpenConnection();
            // Session-level: held across the per-step transactions below, released on unlock or disconnect.
            Run(connection, null, $"SELECT pg_advisory_lock({PostgresStatements.MigrationLockClass}, 0);");
            try
            {
                Run(connection, null,
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL);");
                using var query = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_version;", connection);
                var current = Convert.ToInt32(query.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                var known = PostgresMigrations.All[^1].Version;
                if (current > known)
                {
                    throw new InvalidOperationException(
                        $"The registry database is at schema version {current}, newer than this build knows ({known}); run a newer registry.");
                }
                foreach (var migration in PostgresMigrations.All.Where(m => m.Version > current).OrderBy(m => m.Version))
                {
                    using var transaction = connection.BeginTransaction();
                    Run(connection, transaction, migration.Sql);
                    Run(connection, transaction, "INSERT INTO schema_version(version, name, applied_at) VALUES (@v, @n, @at);",
                        ("v", migration.Version), ("n", migration.Name), ("at", DateTimeOffset.UtcNow));
                    transaction.Commit();
                    LogMigrationApplied(_logger, migration.Version, migration.Name);
                }
            }
            finally
            {
                Run(connection, null, $"SELECT pg_advisory_unlock({PostgresStatements.MigrationLockClass}, 0);");
            }
            _migrated = true;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _dataSource.Dispose();

    private static void Run(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        command.ExecuteNonQuery();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Registry schema migrated to version {Version} ({Name}) on PostgreSQL")]
    private static partial void LogMigrationApplied(ILogger logger, int version, string name);

    // A session advisory lock held on its own connection; unlocked before the connection goes back to the pool
    // (a pooled connection keeps its session locks).
    private sealed class SessionLock(NpgsqlConnection connection, int lockClass, int key) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var command = new NpgsqlCommand($"SELECT pg_advisory_unlock({lockClass}, {key});", connection);
                await command.ExecuteScalarAsync();
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }
}
