using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MaaS.ServiceDefaults.Outbox;

/// <summary>Wakes the dispatcher when a transaction has added messages.</summary>
public sealed class OutboxSignal
{
    private readonly SemaphoreSlim signal = new(0, 1);

    /// <summary>Tells the dispatcher there is work.</summary>
    public void Notify()
    {
        if (signal.CurrentCount == 0)
        {
            try { signal.Release(); } catch (SemaphoreFullException) { }
        }
    }

    /// <summary>Waits for a notification or the timeout.</summary>
    public Task WaitAsync(TimeSpan timeout, CancellationToken ct) => signal.WaitAsync(timeout, ct);
}

/// <summary>
/// Publishes the outbox in order. A message is marked sent only after the broker took it, so a
/// broker outage delays events but never loses them (consumers are idempotent on EventId).
/// </summary>
public sealed partial class OutboxDispatcher(
    IOutboxDatabase database, IServiceProvider services, OutboxSignal signal, ILogger<OutboxDispatcher> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var bus = services.GetRequiredService<IBus>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var published = await PublishPendingAsync(bus, stoppingToken);
                if (published == 0)
                {
                    await signal.WaitAsync(TimeSpan.FromSeconds(1), stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogPublishFailed(logger, ex);
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
            }
        }
    }

    private async Task<int> PublishPendingAsync(IBus bus, CancellationToken ct)
    {
        var pending = new List<(long Id, string Type, string Payload)>();
        using (var connection = database.Open())
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT id, message_type, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT 100";
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                pending.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
            }
        }
        foreach (var (id, typeName, payload) in pending)
        {
            var type = SqliteOutbox.ResolveType(typeName);
            if (type is not null)
            {
                var message = JsonSerializer.Deserialize(payload, type)!;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                await bus.Publish(message, type, timeout.Token);
                LogPublished(logger, typeName, id);
            }
            else
            {
                LogUnknownType(logger, typeName, id);
            }
            MarkSent(id);
        }
        return pending.Count;
    }

    private void MarkSent(long id)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "UPDATE outbox SET sent_at = $at WHERE id = $id";
        cmd.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O"));
        cmd.Parameters.AddWithValue("$id", id);
        cmd.ExecuteNonQuery();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Published {MessageType} from outbox row {OutboxId}")]
    private static partial void LogPublished(ILogger logger, string messageType, long outboxId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox row {OutboxId} holds unknown message type {MessageType}; skipped")]
    private static partial void LogUnknownType(ILogger logger, string messageType, long outboxId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing the outbox failed; retrying in 2 s")]
    private static partial void LogPublishFailed(ILogger logger, Exception ex);
}
