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
    IOutboxStore store, IServiceProvider services, OutboxSignal signal, ILogger<OutboxDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(10);
    // Short enough that events resume within seconds of the broker's return; a failed attempt is cheap.
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private const int BatchSize = 100;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var bus = services.GetRequiredService<IBus>();
        var backoff = PollInterval;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    var published = await PublishPendingAsync(bus, stoppingToken);
                    if (published == 0)
                    {
                        await signal.WaitAsync(PollInterval, stoppingToken);
                    }
                    backoff = PollInterval;
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Broker away or database busy: the rows stay unsent; back off so a long outage is not hammered.
                    var reason = ex is OperationCanceledException
                        ? $"the broker did not take the message within {PublishTimeout.TotalSeconds:0} s"
                        : ex.Message;
                    LogPublishFailed(logger, reason, backoff.TotalSeconds);
                    await Task.Delay(backoff, stoppingToken);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping; unsent rows wait for the next start.
        }
    }

    private async Task<int> PublishPendingAsync(IBus bus, CancellationToken ct)
    {
        // Another replica on the same database is publishing now; it publishes these rows too, in order.
        await using var lease = await store.TryLeadAsync(ct);
        if (lease is null) return 0;
        var pending = await store.ReadUnsentAsync(BatchSize, ct);
        foreach (var row in pending)
        {
            var type = OutboxMessages.ResolveType(row.MessageType);
            if (type is not null)
            {
                var message = JsonSerializer.Deserialize(row.Payload, type)!;
                // Published in the trace of the call that wrote it (by correlation id); null when tracing is off.
                using var span = Telemetry.CorrelationTraces.StartActivity($"outbox {type.Name}", (message as MaaS.Contracts.MeshMessage)?.CorrelationId ?? "");
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                // An unreachable broker makes Publish wait; bound it so the loop can log and back off.
                timeout.CancelAfter(PublishTimeout);
                await bus.Publish(message, type, timeout.Token);
                LogPublished(logger, row.MessageType, row.Id);
            }
            else
            {
                LogUnknownType(logger, row.MessageType, row.Id);
            }
            // Not cancellable: the broker has the message, so the row must not stay unsent for a stop request.
            await store.MarkSentAsync(row.Id, DateTimeOffset.UtcNow, CancellationToken.None);
        }
        return pending.Count;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Published {MessageType} from outbox row {OutboxId}")]
    private static partial void LogPublished(ILogger logger, string messageType, long outboxId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox row {OutboxId} holds unknown message type {MessageType}; skipped")]
    private static partial void LogUnknownType(ILogger logger, string messageType, long outboxId);

    // The reason only, no stack: while the broker is away this repeats, and the stack says nothing new.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing the outbox failed ({Reason}); unsent messages are kept and retried in {DelaySeconds} s")]
    private static partial void LogPublishFailed(ILogger logger, string reason, double delaySeconds);
}
