using System.Threading.Channels;
using MaaS.Contracts;
using MaaS.Trainer.V1;
using MassTransit;

namespace MaaS.Trainer.Jobs;

/// <summary>
/// Publishes job events in the order they happened, from one background loop, so that a slow or
/// absent broker never holds up SubmitJob or training. An event that cannot be published is logged
/// and dropped: an outbox that keeps events until the broker returns comes with job persistence.
/// </summary>
public sealed partial class JobEvents(IBus bus, ILogger<JobEvents> logger) : BackgroundService
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(30);
    private readonly Channel<MeshMessage> pending = Channel.CreateUnbounded<MeshMessage>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Queues TrainingJobStateChanged for the job's current state.</summary>
    public void StateChanged(Job job) => pending.Writer.TryWrite(new TrainingJobStateChanged
    {
        JobId = job.JobId,
        ModelName = job.Spec?.ModelName ?? "",
        State = JobStates.EventName(job.State),
        Message = job.Message,
        CorrelationId = job.CorrelationId,
    });

    /// <summary>Queues ModelTrained for a job that registered a version.</summary>
    public void ModelTrained(Job job, string artifactDigest) => pending.Writer.TryWrite(new ModelTrained
    {
        JobId = job.JobId,
        ModelName = job.Spec.ModelName,
        Version = job.RegisteredVersion,
        ArtifactDigest = artifactDigest,
        ParentVersion = job.Spec.WarmStartVersion,
        Metrics = new Dictionary<string, double>(job.Metrics),
        CorrelationId = job.CorrelationId,
    });

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var message in pending.Reader.ReadAllAsync(stoppingToken))
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(PublishTimeout);
                try
                {
                    // Publish by the runtime type: MassTransit routes on the concrete message type.
                    await bus.Publish(message, message.GetType(), timeout.Token);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogPublishFailed(logger, ex, message.GetType().Name, message.CorrelationId);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not publish {MessageType} (correlation {CorrelationId}); it is dropped")]
    private static partial void LogPublishFailed(ILogger logger, Exception ex, string messageType, string correlationId);
}
