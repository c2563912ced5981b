using MassTransit;
using Microsoft.Extensions.Options;

namespace MaaS.Inference.Sampling;

/// <summary>
/// Every <c>Inference:Sampling:IntervalSeconds</c>, publishes what <see cref="InputSampler"/> collected
/// (one InputsSampled per model version that received rows). Samples are not precious: when the broker is
/// away they are dropped, and the failure is logged once until a publication succeeds again.
/// </summary>
public sealed partial class SamplePublisher(InputSampler sampler, IBus bus, IOptions<InferenceOptions> options, ILogger<SamplePublisher> logger)
    : BackgroundService
{
    private readonly TimeSpan interval = TimeSpan.FromSeconds(options.Value.Sampling.IntervalSeconds);
    private bool failing;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Sampling.Enabled)
        {
            return;
        }
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await PublishOnceAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Ends the interval and publishes its samples; returns how many messages went out.</summary>
    public async Task<int> PublishOnceAsync(CancellationToken ct)
    {
        var messages = sampler.Drain(options.Value.ReplicaId);
        var sent = 0;
        foreach (var message in messages)
        {
            // A broker that does not answer must not stall the next interval: each publication gets one interval.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(interval);
            try
            {
                await bus.Publish(message, timeout.Token);
                sent++;
                if (failing)
                {
                    failing = false;
                    LogPublishingResumed(logger);
                }
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                if (!failing)
                {
                    failing = true;
                    LogPublishFailed(logger, ex, message.ModelName, message.Version);
                }
                // The broker is away: the rest of this interval's samples would only wait for it too.
                break;
            }
        }
        return sent;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish sampled inputs of {Model} version {Version}; samples are dropped until publishing works again (logged once)")]
    private static partial void LogPublishFailed(ILogger logger, Exception ex, string model, long version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Publishing sampled inputs works again")]
    private static partial void LogPublishingResumed(ILogger logger);
}
