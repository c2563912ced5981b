using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Jobs;

/// <summary>
/// The running side of this replica: a slot per job (Trainer:MaxConcurrentJobs, shared by gRPC jobs and bus
/// commands) and a cancellation source per job that holds one, so CancelJob can stop it between two steps.
/// </summary>
public sealed class JobCancellations(IOptions<TrainerOptions> options)
{
    private readonly SemaphoreSlim slots = new(options.Value.MaxConcurrentJobs, options.Value.MaxConcurrentJobs);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> running = new(StringComparer.Ordinal);

    /// <summary>Waits for a free slot; dispose the answer to give it back.</summary>
    public async Task<IDisposable> TakeSlotAsync(CancellationToken ct)
    {
        await slots.WaitAsync(ct);
        return new Slot(slots);
    }

    /// <summary>A token that fires on a cancel request for the job or on <paramref name="stopping"/>.</summary>
    public JobCancellation Begin(string jobId, CancellationToken stopping)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        running[jobId] = source;
        return new JobCancellation(source, () =>
        {
            running.TryRemove(new KeyValuePair<string, CancellationTokenSource>(jobId, source));
            source.Dispose();
        });
    }

    /// <summary>Asks a job running here to stop; false when it is not running on this replica.</summary>
    public bool Cancel(string jobId)
    {
        if (!running.TryGetValue(jobId, out var source)) return false;
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The job ended between the look-up and the request.
        }
        return true;
    }

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0) slots.Release();
        }
    }
}

/// <summary>The cancellation of one running job.</summary>
public sealed class JobCancellation(CancellationTokenSource source, Action end) : IDisposable
{
    /// <summary>Fires on a cancel request or when the trainer stops.</summary>
    public CancellationToken Token => source.Token;

    /// <inheritdoc />
    public void Dispose() => end();
}

/// <summary>
/// Decides which progress reports become TrainingProgressed events: at most one per interval per job,
/// and always the last epoch, so a fast job does not flood the bus and a watcher still sees the end.
/// </summary>
public sealed class ProgressThrottle(TimeSpan interval)
{
    private long lastTicks = long.MinValue;

    /// <summary>Whether a report at <paramref name="now"/> is published; <paramref name="final"/> always is.</summary>
    public bool Take(DateTimeOffset now, bool final)
    {
        if (!final && lastTicks != long.MinValue && now.UtcTicks - lastTicks < interval.Ticks) return false;
        lastTicks = now.UtcTicks;
        return true;
    }
}
