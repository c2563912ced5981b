using MaaS.Contracts;
using Microsoft.Data.Sqlite;

namespace MaaS.ServiceDefaults.Outbox;

/// <summary>Opens connections to the database that holds a service's state and its outbox.</summary>
public interface IOutboxDatabase
{
    /// <summary>An open connection.</summary>
    SqliteConnection Open();
}

/// <summary>
/// A transactional outbox in the service's own SQLite file: an event is written in the same
/// transaction as the state change it reports, and <see cref="OutboxDispatcher"/> publishes it
/// later. So a state change and its event are never separated, even while the broker is away.
/// </summary>
public static class SqliteOutbox
{
    /// <summary>The table; run it in the service's schema migrations.</summary>
    public const string CreateTableSql = """
        CREATE TABLE IF NOT EXISTS outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            message_type TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL,
            sent_at TEXT NULL);
        CREATE INDEX IF NOT EXISTS ix_outbox_unsent ON outbox (sent_at, id);
        """;

    /// <summary>Adds a message to the outbox inside the caller's transaction.</summary>
    public static void Enqueue(SqliteConnection connection, SqliteTransaction transaction, MeshMessage message)
    {
        var (type, payload) = OutboxMessages.Serialize(message);
        using var cmd = connection.CreateCommand();
        cmd.Transaction = transaction;
        cmd.CommandText = "INSERT INTO outbox (message_type, payload, created_at) VALUES ($type, $payload, $at)";
        cmd.Parameters.AddWithValue("$type", type);
        cmd.Parameters.AddWithValue("$payload", payload);
        cmd.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O"));
        cmd.ExecuteNonQuery();
    }

    /// <summary>Resolves a stored type name to a contract type; only MaaS.Contracts messages are accepted.</summary>
    public static Type? ResolveType(string name) => OutboxMessages.ResolveType(name);
}

/// <summary>The dispatcher's side of <see cref="SqliteOutbox"/>, on the service's <see cref="IOutboxDatabase"/>.</summary>
public sealed class SqliteOutboxStore(IOutboxDatabase database) : IOutboxStore
{
    /// <inheritdoc />
    public Task<IReadOnlyList<OutboxMessage>> ReadUnsentAsync(int limit, CancellationToken cancellationToken)
    {
        var pending = new List<OutboxMessage>();
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id, message_type, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $limit";
        cmd.Parameters.AddWithValue("$limit", limit);
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            pending.Add(new OutboxMessage(reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }
        return Task.FromResult<IReadOnlyList<OutboxMessage>>(pending);
    }

    /// <inheritdoc />
    public Task MarkSentAsync(long id, DateTimeOffset sentAt, CancellationToken cancellationToken)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "UPDATE outbox SET sent_at = $at WHERE id = $id";
        cmd.Parameters.AddWithValue("$at", sentAt.ToString("O"));
        cmd.Parameters.AddWithValue("$id", id);
        cmd.ExecuteNonQuery();
        return Task.CompletedTask;
    }
}
