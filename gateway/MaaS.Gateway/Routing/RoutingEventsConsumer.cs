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

    /// <summary>
    /// A temporary queue per gateway process: every gateway must see every event (a shared queue would
    /// hand each event to one gateway only), and the queue goes away with the process.
    /// </summary>
    public static void Register(IBusRegistrationConfigurator bus)
    {
        var instance = $"{Environment.MachineName}-{Environment.ProcessId}".ToLowerInvariant();
        var safe = new string([.. instance.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);
        bus.AddConsumer<RoutingEventsConsumer>().Endpoint(e =>
        {
            e.InstanceId = safe;
            e.Temporary = true;
        });
    }
}
