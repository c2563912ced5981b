using MaaS.Contracts;
using MassTransit;

namespace MaaS.Gateway.Routing;

/// <summary>
/// The registry's deployment and alias events: each one asks the poller for a poll now, so traffic
/// follows a new split or a moved alias at once. The poll, not the event, stays the source of truth
/// (events can be missed while the broker is away; the poll catches up within its interval).
/// </summary>
public sealed class RoutingEventsConsumer(RoutingRefresh refresh) :
    IConsumer<DeploymentChanged>, IConsumer<AliasMoved>, IConsumer<AliasDeleted>
{
    public Task Consume(ConsumeContext<DeploymentChanged> context) => Refresh();

    public Task Consume(ConsumeContext<AliasMoved> context) => Refresh();

    public Task Consume(ConsumeContext<AliasDeleted> context) => Refresh();

    private Task Refresh()
    {
        refresh.Request();
        return Task.CompletedTask;
    }

    /// <summary>On a queue of this gateway process's own (<see cref="PerGatewayQueue"/>): every replica must see every change.</summary>
    public static void Register(IBusRegistrationConfigurator bus) => PerGatewayQueue.AddConsumer<RoutingEventsConsumer>(bus);
}
