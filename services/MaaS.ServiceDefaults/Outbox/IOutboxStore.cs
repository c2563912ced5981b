using System.Text.Json;
using MaaS.Contracts;

namespace MaaS.ServiceDefaults.Outbox;

/// <summary>An outbox row the dispatcher has yet to publish.</summary>
/// <param name="Id">Position in the outbox; publishing follows it.</param>
/// <param name="MessageType">Full name of the MaaS.Contracts type.</param>
/// <param name="Payload">The message as JSON.</param>
public sealed record OutboxMessage(long Id, string MessageType, string Payload);

/// <summary>
/// Where <see cref="OutboxDispatcher"/> reads unsent messages and marks them sent: one implementation per
/// database (<see cref="SqliteOutboxStore"/> for a service's SQLite file; a service on another database
/// brings its own). Writing happens in the service's own transactions, with <see cref="OutboxMessages.Serialize"/>.
/// </summary>
public interface IOutboxStore
{
    /// <summary>The oldest unsent messages, by id, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<OutboxMessage>> ReadUnsentAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Records that the broker took message <paramref name="id"/>.</summary>
    Task MarkSentAsync(long id, DateTimeOffset sentAt, CancellationToken cancellationToken);

    /// <summary>
    /// Makes this process the outbox's only dispatcher until the returned lease is disposed; null while another
    /// process (a replica on the same database) dispatches, so two replicas never publish the same rows or
    /// interleave them out of order. A database only one process uses (a service's own SQLite file) needs no lease.
    /// </summary>
    Task<IAsyncDisposable?> TryLeadAsync(CancellationToken cancellationToken) => Task.FromResult<IAsyncDisposable?>(NoLease.Instance);
}

/// <summary>The lease of a store that only one process dispatches.</summary>
public sealed class NoLease : IAsyncDisposable
{
    /// <summary>The one instance.</summary>
    public static readonly NoLease Instance = new();

    private NoLease()
    {
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>How messages are stored in any outbox: the contract type's full name and its JSON.</summary>
public static class OutboxMessages
{
    /// <summary>The row values of <paramref name="message"/>; refuses a type the dispatcher could not publish.</summary>
    /// <exception cref="ArgumentException">Not a MaaS.Contracts message type.</exception>
    public static (string MessageType, string Payload) Serialize(MeshMessage message)
    {
        // Refuse here, inside the caller's transaction, what the dispatcher could only skip later.
        var type = message.GetType();
        if (ResolveType(type.FullName!) != type)
        {
            throw new ArgumentException($"{type.FullName} is not a MaaS.Contracts message type the outbox can publish.", nameof(message));
        }
        // Written inside the call that caused it: the dispatcher publishes it later in this call's trace.
        Telemetry.CorrelationTraces.Remember(message);
        return (type.FullName!, JsonSerializer.Serialize(message, type));
    }

    /// <summary>Resolves a stored type name to a contract type; only MaaS.Contracts messages are accepted.</summary>
    public static Type? ResolveType(string name)
    {
        var type = typeof(MeshMessage).Assembly.GetType(name, throwOnError: false);
        return type is not null && typeof(MeshMessage).IsAssignableFrom(type) ? type : null;
    }
}
