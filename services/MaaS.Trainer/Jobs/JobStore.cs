using System.Collections.Concurrent;
using System.Threading.Channels;
using MaaS.Trainer.V1;

namespace MaaS.Trainer.Jobs;

/// <summary>
/// The jobs of this replica, kept in memory: a restart forgets them (persistence is a later issue).
/// Every change makes a new <see cref="Job"/> snapshot, so readers never see a half-made change,
/// and each watcher gets every snapshot in order until the job ends.
/// </summary>
public sealed class JobStore
{
    private readonly ConcurrentDictionary<string, Entry> jobs = new(StringComparer.Ordinal);

    /// <summary>Adds a new job; false when the id is taken (a redelivered command).</summary>
    public bool TryAdd(Job job) => jobs.TryAdd(job.JobId, new Entry(job.Clone()));

    /// <summary>The job as it is now, or null.</summary>
    public Job? Get(string jobId) => jobs.TryGetValue(jobId, out var entry) ? entry.Snapshot() : null;

    /// <summary>
    /// Applies a change to a copy of the job and makes it current; a job that has ended stays as it is.
    /// Returns the new snapshot, or null when the id is unknown or the job had already ended.
    /// </summary>
    public Job? Update(string jobId, Action<Job> change)
    {
        return jobs.TryGetValue(jobId, out var entry) ? entry.Update(change) : null;
    }

    /// <summary>Watches a job: the current snapshot first, then each change; the reader ends with the job.</summary>
    public JobWatch? Watch(string jobId) => jobs.TryGetValue(jobId, out var entry) ? entry.Watch() : null;

    private sealed class Entry(Job initial)
    {
        private readonly Lock gate = new();
        private readonly List<Channel<Job>> watchers = [];
        private Job current = initial;

        public Job Snapshot()
        {
            lock (gate) return current.Clone();
        }

        public Job? Update(Action<Job> change)
        {
            lock (gate)
            {
                if (JobStates.IsTerminal(current.State)) return null;
                var next = current.Clone();
                change(next);
                current = next;
                var ended = JobStates.IsTerminal(next.State);
                foreach (var watcher in watchers)
                {
                    watcher.Writer.TryWrite(next.Clone());
                    if (ended) watcher.Writer.TryComplete();
                }
                if (ended) watchers.Clear();
                return next.Clone();
            }
        }

        public JobWatch Watch()
        {
            // Unbounded: a job makes at most a few hundred snapshots (progress is throttled).
            var channel = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
            lock (gate)
            {
                channel.Writer.TryWrite(current.Clone());
                if (JobStates.IsTerminal(current.State)) channel.Writer.TryComplete();
                else watchers.Add(channel);
            }
            return new JobWatch(channel.Reader, () => { lock (gate) watchers.Remove(channel); });
        }
    }
}

/// <summary>A subscription to one job's snapshots; dispose it when the watcher leaves.</summary>
public sealed class JobWatch(ChannelReader<Job> reader, Action leave) : IDisposable
{
    /// <summary>Snapshots, current first; completes when the job ends.</summary>
    public ChannelReader<Job> Reader { get; } = reader;

    /// <inheritdoc />
    public void Dispose() => leave();
}
