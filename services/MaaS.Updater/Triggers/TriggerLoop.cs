using MaaS.Updater.Gate;
using MaaS.Updater.Storage;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Triggers;

/// <summary>
/// The clock of the update loop. At start it recovers what a restart interrupted (a retraining still
/// preparing its data is failed so its rows count again; a passed gate whose handoff did not finish
/// is handed off); then every tick it evaluates every watched model's rules (schedule and drift
/// included) and retries unfinished handoffs. Retrainings waiting for their ModelTrained need nothing:
/// their state is in SQLite and the event is on a durable queue.
/// </summary>
public sealed partial class TriggerLoop(
    UpdaterStore store, TriggerEvaluator evaluator, GateRunner gates, IOptions<UpdaterOptions> options, ILogger<TriggerLoop> logger)
    : BackgroundService
{
    // The last failure logged per model: a registry that stays down is logged once, not every tick.
    private readonly Dictionary<string, string> lastFailure = new(StringComparer.Ordinal);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.TriggerLoopEnabled) return;
        await Task.Yield();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.TriggerTickMilliseconds));
        var recovered = false;
        try
        {
            do
            {
                // The loop must outlive any one failure (a locked file, a bug in one rule): an escaped
                // exception would stop the whole service.
                try
                {
                    if (!recovered) await RecoverAsync(stoppingToken);
                    recovered = true;
                    await TickAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    Report("(loop)", ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>Fails retrainings left preparing and finishes handoffs left undone.</summary>
    public async Task RecoverAsync(CancellationToken ct)
    {
        foreach (var jobId in store.FailStalePreparing()) LogRecovered(logger, jobId, "failed: its training data was never sent");
        await ResumeHandoffsAsync(ct);
    }

    /// <summary>One pass over the watched models.</summary>
    public async Task TickAsync(CancellationToken ct)
    {
        foreach (var jobId in store.FailOverdueTraining(TimeSpan.FromMinutes(options.Value.RetrainTimeoutMinutes)))
        {
            LogRecovered(logger, jobId, "failed: no trained version arrived in time");
        }
        await ResumeHandoffsAsync(ct);
        foreach (var model in store.ModelsToWatch())
        {
            try
            {
                await evaluator.EvaluateInTurnAsync(model, ct);
                lastFailure.Remove(model);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                Report(model, ex);
            }
        }
    }

    private async Task ResumeHandoffsAsync(CancellationToken ct)
    {
        foreach (var jobId in store.RetrainsIn(RetrainStates.Handoff))
        {
            try
            {
                await gates.ResumeHandoffAsync(jobId, ct);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                Report(jobId, ex);
            }
        }
    }

    private void Report(string subject, Exception ex)
    {
        if (lastFailure.TryGetValue(subject, out var last) && last == ex.Message) return;
        lastFailure[subject] = ex.Message;
        LogFailed(logger, subject, ex.Message);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Recovered retraining {JobId}: {Outcome}")]
    private static partial void LogRecovered(ILogger logger, string jobId, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Update loop for {Subject} failed (retried every tick, logged again when the error changes): {Reason}")]
    private static partial void LogFailed(ILogger logger, string subject, string reason);
}
