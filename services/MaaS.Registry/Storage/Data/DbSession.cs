using System.Data.Common;
using Google.Protobuf.WellKnownTypes;
using MaaS.Contracts;

namespace MaaS.Registry.Storage.Data;

/// <summary>Opens read sessions and write sessions (a transaction) on the configured metadata database.</summary>
public sealed class RegistryDb(IRegistryDialect dialect, TimeProvider clock)
{
    /// <summary>The database's dialect.</summary>
    public IRegistryDialect Dialect => dialect;

    /// <summary>A session without a transaction, for reads.</summary>
    public async Task<DbSession> ReadAsync(CancellationToken cancellationToken)
    {
        var connection = await dialect.OpenAsync(cancellationToken);
        return new DbSession(dialect, clock, connection, null);
    }

    /// <summary>A session inside a write transaction; call <see cref="DbSession.CommitAsync"/> or it rolls back.</summary>
    public async Task<DbSession> WriteAsync(CancellationToken cancellationToken)
    {
        var connection = await dialect.OpenAsync(cancellationToken);
        try
        {
            var transaction = await dialect.BeginWriteAsync(connection, cancellationToken);
            return new DbSession(dialect, clock, connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}

/// <summary>
/// A connection (and maybe a transaction) with the few operations the stores need. Parameters are
/// passed by bare name; a <see cref="DateTimeOffset"/> value is converted by the dialect.
/// </summary>
public sealed class DbSession : IAsyncDisposable
{
    private readonly IRegistryDialect _dialect;
    private readonly DbConnection _connection;
    private readonly DbTransaction? _transaction;

    internal DbSession(IRegistryDialect dialect, TimeProvider clock, DbConnection connection, DbTransaction? transaction)
    {
        _dialect = dialect;
        _connection = connection;
        _transaction = transaction;
        // One time for the whole change, so its rows and its history agree.
        Now = clock.GetUtcNow();
    }

    /// <summary>Whether this session is a write transaction.</summary>
    public bool IsWrite => _transaction is not null;

    /// <summary>The statements of this database.</summary>
    public RegistryStatements Sql => _dialect.Sql;

    /// <summary>The time of this session's change, taken once when it started.</summary>
    public DateTimeOffset Now { get; }

    /// <summary>Runs a statement; returns the rows changed.</summary>
    public async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The first column of the first row as a number, or null when there is no row (or it is NULL).</summary>
    public async Task<long?> LongAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(sql, parameters);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Every row, mapped.</summary>
    public async Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> map, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(map(reader));
        }
        return rows;
    }

    /// <summary>The first row mapped, or null.</summary>
    public async Task<T?> FirstAsync<T>(string sql, Func<DbDataReader, T> map, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters) where T : class
    {
        await using var command = Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? map(reader) : null;
    }

    /// <summary>A time column.</summary>
    public DateTimeOffset Time(DbDataReader reader, int ordinal) => _dialect.ReadTime(reader, ordinal);

    /// <summary>A time column as a protobuf timestamp.</summary>
    public Timestamp Timestamp(DbDataReader reader, int ordinal) => Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Time(reader, ordinal));

    /// <summary>Writes an event to the outbox in this session's transaction.</summary>
    public void Publish(MeshMessage message) =>
        _dialect.EnqueueEvent(_connection, _transaction ?? throw new InvalidOperationException("Events are written only inside a write session."), message);

    /// <summary>Commits the write transaction.</summary>
    public Task CommitAsync(CancellationToken cancellationToken) =>
        (_transaction ?? throw new InvalidOperationException("A read session has nothing to commit.")).CommitAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_transaction is not null)
        {
            await _transaction.DisposeAsync();
        }
        await _connection.DisposeAsync();
    }

    private DbCommand Command(string sql, (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = _transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = _dialect.ParameterName(name);
            parameter.Value = value switch
            {
                null => DBNull.Value,
                DateTimeOffset time => _dialect.ToDbTime(time),
                _ => value,
            };
            command.Parameters.Add(parameter);
        }
        return command;
    }
}
