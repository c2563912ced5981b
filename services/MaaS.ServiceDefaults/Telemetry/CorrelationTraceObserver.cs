using System.Diagnostics;
using MaaS.Contracts;
using MassTransit;

namespace MaaS.ServiceDefaults.Telemetry;

/// <summary>
/// Remembers the trace of every mesh message consumed (MassTransit's consume span, parented by the
/// publisher's traceparent), so the events this service writes later for the same correlation id stay in it.
/// </summary>
public sealed class CorrelationTraceObserver : IConsumeObserver
{
    /// <inheritdoc />
    public Task PreConsume<T>(ConsumeContext<T> context) where T : class
    {
        if (context.Message is MeshMessage message) CorrelationTraces.Remember(message.CorrelationId, Activity.Current);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task PostConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

    /// <inheritdoc />
    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}
