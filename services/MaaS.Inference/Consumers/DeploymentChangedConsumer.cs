using MaaS.Contracts;
using MaaS.Inference.Runtime;
using MassTransit;

namespace MaaS.Inference.Consumers;

/// <summary>
/// A new deployment may name versions this replica does not hold yet (a canary, a shadow): sync now, so
/// they are loaded and READY before the gateway's split sends them traffic.
/// </summary>
public sealed partial class DeploymentChangedConsumer(RegistrySync sync, ILogger<DeploymentChangedConsumer> logger) : IConsumer<DeploymentChanged>
{
    /// <inheritdoc />
    public Task Consume(ConsumeContext<DeploymentChanged> context)
    {
        LogEvent(logger, context.Message.ModelName, context.Message.Revision);
        sync.RequestSync();
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment of model {Model} is at revision {Revision}; syncing")]
    private static partial void LogEvent(ILogger logger, string model, long revision);
}
