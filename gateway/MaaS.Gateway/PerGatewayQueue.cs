using MassTransit;

namespace MaaS.Gateway;

/// <summary>
/// Consumers whose events every gateway process must see (routing changes, key changes): each process gets a
/// temporary queue of its own, since a shared queue would hand each event to one gateway only, and the queue goes
/// away with the process.
/// </summary>
public static class PerGatewayQueue
{
    // Machine name and process id, lower-case, anything but letters and digits as '-': a valid queue name part.
    private static readonly string InstanceId = new(
        [.. $"{Environment.MachineName}-{Environment.ProcessId}".ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);

    /// <summary>Registers <typeparamref name="TConsumer"/> on this process's temporary queue.</summary>
    public static void AddConsumer<TConsumer>(IBusRegistrationConfigurator bus) where TConsumer : class, IConsumer =>
        bus.AddConsumer<TConsumer>().Endpoint(e =>
        {
            e.InstanceId = InstanceId;
            e.Temporary = true;
        });
}
