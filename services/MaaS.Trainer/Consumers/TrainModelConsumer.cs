using MaaS.Contracts;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.V1;
using MassTransit;

namespace MaaS.Trainer.Consumers;

/// <summary>
/// Takes TrainModel commands from the "trainer-train-model" queue (every replica competes for them) and
/// queues the same kind of job SubmitJob does. A refused spec becomes a Failed job with the reason
/// and its event, so a bad command is answered once instead of being redelivered forever.
/// </summary>
public sealed class TrainModelConsumer(JobSubmitter submitter) : IConsumer<TrainModel>
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
        await submitter.SubmitCommandAsync(m.JobId ?? "", spec, m.CorrelationId ?? "", context.CancellationToken);
    }
}
