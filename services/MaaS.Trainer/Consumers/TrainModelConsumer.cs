using MaaS.Contracts;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.Training;
using MaaS.Trainer.V1;
using MassTransit;

namespace MaaS.Trainer.Consumers;

/// <summary>
/// Takes TrainModel commands from the "trainer-train-model" queue (every replica competes for them), stores
/// the same kind of job SubmitJob does and runs it before acknowledging the message, so a replica holds no
/// more commands than it has job slots (see <see cref="TrainModelConsumerDefinition"/>). A refused spec
/// becomes a Failed job with the reason and its event, so a bad command is answered once instead of being
/// redelivered forever; a command whose job id this replica already has is a redelivery and is not run again.
/// A broker outage while a job runs does not stop the job (see Consume).
/// </summary>
public sealed class TrainModelConsumer(JobSubmitter submitter, TrainingJobRunner runner, IHostApplicationLifetime lifetime) : IConsumer<TrainModel>
{
    /// <inheritdoc />
    public async Task Consume(ConsumeContext<TrainModel> context)
    {
        var m = context.Message;
        var spec = new TrainingSpec
        {
            ModelName = m.ModelName ?? "",
            DatasetName = m.DatasetName ?? "",
            DatasetVersion = m.DatasetVersion,
            FeatureColumns = { (m.FeatureColumns ?? []).Select(c => c ?? "") },
            LabelColumn = m.LabelColumn ?? "",
            Architecture = m.Architecture ?? "",
            Optimizer = m.Optimizer ?? "",
            Loss = m.Loss ?? "",
            Epochs = m.Epochs,
            LearningRate = m.LearningRate,
            Seed = m.Seed,
            WarmStartVersion = m.WarmStartVersion,
            Task = m.Task ?? "",
            HiddenSizes = { m.HiddenSizes ?? [] },
            Activation = m.Activation ?? "",
            Momentum = m.Momentum,
            WeightDecay = m.WeightDecay,
            BatchSize = m.BatchSize,
            ValidationSplit = m.ValidationSplit,
        };
        if (m.Standardize is { } standardize)
        {
            spec.Standardize = standardize;
        }
        // Without a job id the command's EventId names the job, so a redelivery is still recognised.
        var jobId = string.IsNullOrEmpty(m.JobId) ? "job-" + m.EventId.ToString("N") : m.JobId;
        var queued = await submitter.SubmitCommandAsync(jobId, spec, m.CorrelationId ?? "", context.CancellationToken);
        // The job stops only when this trainer stops, not when the message's token fires: a broker that goes
        // away cancels that token, yet the job can finish and its events wait in the outbox; the command then
        // comes back once the broker does and is recognised as a redelivery of a job this replica already ran.
        if (queued is not null) await runner.RunAsync(queued, lifetime.ApplicationStopping);
    }
}

/// <summary>
/// The consumer's endpoint takes at most Trainer:MaxConcurrentJobs commands at once and prefetches no more,
/// so the commands this replica cannot run yet stay in the queue for the other replicas.
/// </summary>
public sealed class TrainModelConsumerDefinition : ConsumerDefinition<TrainModelConsumer>
{
    private readonly int limit;

    /// <summary>Uses the replica's job slots as the concurrency limit.</summary>
    public TrainModelConsumerDefinition(Microsoft.Extensions.Options.IOptions<TrainerOptions> options)
    {
        limit = options.Value.MaxConcurrentJobs;
        ConcurrentMessageLimit = limit;
    }

    /// <inheritdoc />
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TrainModelConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = limit;
        endpointConfigurator.ConcurrentMessageLimit = limit;
    }
}
