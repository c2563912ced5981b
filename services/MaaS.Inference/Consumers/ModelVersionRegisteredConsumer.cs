using MaaS.Contracts;
using MaaS.Inference.Runtime;
using MassTransit;

namespace MaaS.Inference.Consumers;

/// <summary>A new version may belong among the newest this replica holds: sync now instead of at the next period.</summary>
public sealed partial class ModelVersionRegisteredConsumer(RegistrySync sync, ILogger<ModelVersionRegisteredConsumer> logger)
    : IConsumer<ModelVersionRegistered>
{
    /// <inheritdoc />
    public Task Consume(ConsumeContext<ModelVersionRegistered> context)
    {
        // Idempotent by nature: a sync converges on the registry's state however often it runs.
        LogEvent(logger, context.Message.ModelName, context.Message.Version);
        sync.RequestSync();
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} version {Version} registered; syncing")]
    private static partial void LogEvent(ILogger logger, string model, long version);
}
