using System.Data.Common;
using MaaS.ServiceDefaults;

namespace MaaS.Gateway.Security;

/// <summary>A key row: its record and the SHA-256 of its token.</summary>
public sealed record StoredApiKey(ApiKeyRecord Record, byte[] Hash);

/// <summary>
/// Where the gateway's keys are kept (Gateway:Auth:Store): the SQL behind <see cref="ApiKeyStore"/>, which
/// keeps the rules. Writes run through <see cref="Write{T}"/>, one at a time across every gateway process
/// that shares the database, so a rule checked inside a write (last admin key, unique name) still holds
/// when it commits.
/// </summary>
public interface IApiKeyDatabase : IDisposable
{
    /// <summary>Creates or upgrades the tables; safe when several gateways start at once.</summary>
    void Migrate();

    /// <summary>The keys that are not revoked.</summary>
    IReadOnlyList<StoredApiKey> ReadActive();

    /// <summary>Every key, oldest first; revoked ones only when asked.</summary>
    IReadOnlyList<ApiKeyRecord> List(bool includeRevoked);

    /// <summary>
    /// Runs <paramref name="change"/> in a transaction that holds the store-wide write lock and commits when it
    /// returns; an exception rolls everything back.
    /// </summary>
    T Write<T>(Func<IApiKeyWrite, T> change);
}

/// <summary>What a write transaction can read and change.</summary>
public interface IApiKeyWrite
{
    /// <summary>The keys that are not revoked, as this transaction sees them.</summary>
    IReadOnlyList<StoredApiKey> ReadActive();

    /// <summary>The key with this id, revoked or not; null when there is none.</summary>
    StoredApiKey? Find(string id);

    /// <summary>Adds a key; AlreadyExists when its name is taken by an active key.</summary>
    void Insert(ApiKeyRecord record, byte[] hash);

    /// <summary>Marks a key revoked at <paramref name="at"/>.</summary>
    void MarkRevoked(string id, DateTimeOffset at);
}

/// <summary>
/// The statements both stores share (plain ADO.NET, <c>@name</c> parameters, which SQLite and Npgsql both
/// take); each store supplies its connections, its write lock, its time type and its migrations.
/// </summary>
public abstract class ApiKeyDatabase : IApiKeyDatabase
{
    private const string Columns = "id, name, scopes, requests_per_second, burst, created_at, revoked_at, hash";

    /// <summary>The keys table.</summary>
    protected abstract string Table { get; }

    /// <inheritdoc />
    public abstract void Migrate();

    /// <summary>An open connection.</summary>
    protected abstract DbConnection Open();

    /// <summary>A transaction on <paramref name="connection"/> that holds the store-wide write lock.</summary>
    protected abstract DbTransaction BeginWrite(DbConnection connection);

    /// <summary>A time as the store's parameter value.</summary>
    protected abstract object ToDb(DateTimeOffset time);

    /// <summary>A time column as written by <see cref="ToDb"/>.</summary>
    protected abstract DateTimeOffset ReadTime(DbDataReader reader, int ordinal);

    /// <summary>True when <paramref name="exception"/> is a unique-constraint violation.</summary>
    protected abstract bool IsUniqueViolation(DbException exception);

    /// <inheritdoc />
    public IReadOnlyList<StoredApiKey> ReadActive()
    {
        using var connection = Open();
        return ReadActive(connection, null);
    }

    /// <inheritdoc />
    public IReadOnlyList<ApiKeyRecord> List(bool includeRevoked)
    {
        using var connection = Open();
        using var command = Command(connection, null,
            $"SELECT {Columns} FROM {Table}" + (includeRevoked ? "" : " WHERE revoked_at IS NULL") + " ORDER BY created_at, id");
        return [.. Read(command).Select(k => k.Record)];
    }

    /// <inheritdoc />
    public T Write<T>(Func<IApiKeyWrite, T> change)
    {
        using var connection = Open();
        using var transaction = BeginWrite(connection);
        var result = change(new Writer(this, connection, transaction));
        transaction.Commit();
        return result;
    }

    /// <inheritdoc />
    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>A command with <c>@name</c> parameters.</summary>
    protected static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    private List<StoredApiKey> ReadActive(DbConnection connection, DbTransaction? transaction)
    {
        using var command = Command(connection, transaction, $"SELECT {Columns} FROM {Table} WHERE revoked_at IS NULL");
        return Read(command);
    }

    private List<StoredApiKey> Read(DbCommand command)
    {
        using var reader = command.ExecuteReader();
        var keys = new List<StoredApiKey>();
        while (reader.Read())
        {
            var scopes = ApiScopes.None;
            foreach (var name in reader.GetString(2).Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                if (ApiScopeNames.TryParse(name, out var scope))
                {
                    scopes |= scope;
                }
            }
            var record = new ApiKeyRecord(reader.GetString(0), reader.GetString(1), scopes, reader.GetDouble(3), reader.GetInt32(4),
                ReadTime(reader, 5), reader.IsDBNull(6) ? null : ReadTime(reader, 6));
            keys.Add(new StoredApiKey(record, (byte[])reader.GetValue(7)));
        }
        return keys;
    }

    private sealed class Writer(ApiKeyDatabase database, DbConnection connection, DbTransaction transaction) : IApiKeyWrite
    {
        public IReadOnlyList<StoredApiKey> ReadActive() => database.ReadActive(connection, transaction);

        public StoredApiKey? Find(string id)
        {
            using var command = Command(connection, transaction, $"SELECT {Columns} FROM {database.Table} WHERE id = @id", ("id", id));
            return database.Read(command).SingleOrDefault();
        }

        public void Insert(ApiKeyRecord record, byte[] hash)
        {
            using var command = Command(connection, transaction, $"""
                INSERT INTO {database.Table} (id, name, hash, scopes, requests_per_second, burst, created_at)
                VALUES (@id, @name, @hash, @scopes, @rate, @burst, @created)
                """,
                ("id", record.Id), ("name", record.Name), ("hash", hash),
                ("scopes", string.Join(',', ApiScopeNames.Format(record.Scopes))),
                ("rate", record.RatePerSecond), ("burst", record.Burst), ("created", database.ToDb(record.CreatedAt)));
            try
            {
                command.ExecuteNonQuery();
            }
            catch (DbException e) when (database.IsUniqueViolation(e))
            {
                // The partial unique index on active names (or, astronomically rarely, a repeated random id).
                throw MeshErrors.AlreadyExists($"An active key named '{record.Name}' exists; revoke it or choose another name.");
            }
        }

        public void MarkRevoked(string id, DateTimeOffset at)
        {
            using var command = Command(connection, transaction,
                $"UPDATE {database.Table} SET revoked_at = @at WHERE id = @id AND revoked_at IS NULL",
                ("at", database.ToDb(at)), ("id", id));
            command.ExecuteNonQuery();
        }
    }
}
