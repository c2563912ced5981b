using System.Threading.Channels;

namespace MaaS.Trainer.Jobs;

/// <summary>Ids of queued jobs, in submission order, for the <see cref="JobWorker"/>.</summary>
public sealed class JobQueue
{
    private readonly Channel<string> channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleWriter = false });

    /// <summary>Queues a job id.</summary>
    public void Enqueue(string jobId)
    {
        // An unbounded channel only refuses after Complete, which nothing calls.
        if (!channel.Writer.TryWrite(jobId)) throw new InvalidOperationException("The job queue is closed.");
    }

    /// <summary>The ids to work on.</summary>
    public ChannelReader<string> Reader => channel.Reader;
}
