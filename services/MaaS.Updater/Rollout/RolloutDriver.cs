using Microsoft.Extensions.Options;

namespace MaaS.Updater.Rollout;

/// <summary>
/// The clock of rollouts: every Updater:Rollouts:TickMilliseconds it has the manager judge, advance or roll
/// back every running rollout and push deployments the registry has not taken yet. All state is in SQLite,
/// so after a restart the first tick resumes each rollout at its stored step and step start.
/// </summary>
public sealed partial class RolloutDriver(RolloutManager manager, IOptions<RolloutOptions> options, ILogger<RolloutDriver> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.DriverEnabled) return;
        await Task.Yield();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.TickMilliseconds));
        try
        {
            do
            {
                // An escaped exception would stop the service: a locked file or a bug in one pass must not.
                try
                {
                    await manager.TickAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogTickFailed(logger, ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down; the next start resumes from the stored state.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A rollout pass failed: {Reason}; the next tick tries again")]
    private static partial void LogTickFailed(ILogger logger, string reason);
}
