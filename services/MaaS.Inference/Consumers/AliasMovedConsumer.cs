using MaaS.Contracts;
using MaaS.Inference.Runtime;
using MassTransit;

namespace MaaS.Inference.Consumers;

/// <summary>When <c>production</c> moves, the new target must be loaded and become the default version: sync now.</summary>
public sealed partial class AliasMovedConsumer(RegistrySync sync, ILogger<AliasMovedConsumer> logger) : IConsumer<AliasMoved>
{
    /// <inheritdoc />
    public Task Consume(ConsumeContext<AliasMoved> context)
    {
        var m = context.Message;
        LogEvent(logger, m.ModelName, m.Alias, m.FromVersion, m.ToVersion);
        sync.RequestSync();
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alias {Alias} of model {Model} moved from {From} to {To}; syncing")]
    private static partial void LogEvent(ILogger logger, string model, string alias, long from, long to);
}
