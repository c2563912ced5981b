using System.Text.Json;
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
        // Refuse here, inside the caller's transaction, what the dispatcher could only skip later.
        var type = message.GetType();
        if (ResolveType(type.FullName!) != type)
        {
            throw new ArgumentException($"{type.FullName} is not a MaaS.Contracts message type the outbox can publish.", nameof(message));
        }
        using var cmd = connection.CreateCommand();
        cmd.Transaction = transaction;
        cmd.CommandText = "INSERT INTO outbox (message_type, payload, created_at) VALUES ($type, $payload, $at)";
        cmd.Parameters.AddWithValue("$type", type.FullName);
        cmd.Parameters.AddWithValue("$payload", JsonSerializer.Serialize(message, type));
        cmd.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O"));
        cmd.ExecuteNonQuery();
    }

    /// <summary>Resolves a stored type name to a contract type; only MaaS.Contracts messages are accepted.</summary>
    public static Type? ResolveType(string name)
    {
        var type = typeof(MeshMessage).Assembly.GetType(name, throwOnError: false);
        return type is not null && typeof(MeshMessage).IsAssignableFrom(type) ? type : null;
    }
}
