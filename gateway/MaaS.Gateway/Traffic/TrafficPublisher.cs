using MaaS.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Traffic;

/// <summary>
/// Every Gateway:Traffic:IntervalMilliseconds, publishes one TrafficObserved per model version that had
/// traffic in the window (the updater judges rollouts on them). Publishing never holds up forwarding: the
/// counts are taken from the aggregator and sent from this loop. A window that cannot be published is
/// dropped (the next one carries fresh numbers) and the failure is logged once until publishing works again.
/// </summary>
public sealed partial class TrafficPublisher(
    TrafficAggregator aggregator, IServiceProvider services, IOptions<TrafficOptions> options, TimeProvider clock, ILogger<TrafficPublisher> logger)
    : BackgroundService
{
    // A version without traffic for this long loses its cell (it comes back with its next call).
    private static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(5);

    // A publish that takes longer means the broker is away: the window is dropped.
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(5);

    private readonly string source = options.Value.Source.Length > 0 ? options.Value.Source : $"{Environment.MachineName}/{Environment.ProcessId}";

    private bool failing;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled) return;
        var bus = services.GetRequiredService<IBus>();
        var interval = TimeSpan.FromMilliseconds(options.Value.IntervalMilliseconds);
        // A busy machine can take longer than a short interval to publish; what accrues meanwhile goes in the next window.
        var timeout = interval > PublishTimeout ? interval : PublishTimeout;
        using var timer = new PeriodicTimer(interval, clock);
        TrafficRecorder.PublisherStarted();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await PublishAsync((message, ct) => bus.Publish(message, ct), timeout, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the counts of the last partial window are not worth a publish that may not finish.
        }
        finally
        {
            TrafficRecorder.PublisherStopped();
        }
    }

    /// <summary>
    /// Takes the window ending now and publishes it with <paramref name="publish"/>, each message bounded by
    /// <paramref name="timeout"/>; returns how many were published. Failures are logged, never thrown.
    /// </summary>
    public async Task<int> PublishAsync(Func<TrafficObserved, CancellationToken, Task> publish, TimeSpan timeout, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var published = 0;
        foreach (var window in aggregator.Take(now, ForgetAfter))
        {
            var message = new TrafficObserved
            {
                OccurredAt = now,
                ModelName = window.Model,
                Version = window.Version,
                Source = source,
                WindowStart = window.WindowStart,
                WindowEnd = now,
                Requests = window.Requests,
                Errors = window.Errors,
                LatencyBuckets = window.LatencyBuckets,
                ShadowRequests = window.ShadowRequests,
                ShadowErrors = window.ShadowErrors,
            };
            try
            {
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
                // An unreachable broker makes Publish wait; the next window must not queue up behind it.
                bounded.CancelAfter(timeout);
                await publish(message, bounded.Token);
                published++;
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                if (!failing) LogPublishFailed(logger, ex is OperationCanceledException ? $"no answer within {timeout.TotalMilliseconds:0} ms" : ex.Message);
                failing = true;
                // The broker is away: the rest of this window goes the same way.
                return published;
            }
        }
        if (failing && published > 0)
        {
            failing = false;
            LogPublishResumed(logger);
        }
        return published;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing traffic windows failed ({Reason}); windows are dropped until it works again")]
    private static partial void LogPublishFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Publishing traffic windows works again")]
    private static partial void LogPublishResumed(ILogger logger);
}
