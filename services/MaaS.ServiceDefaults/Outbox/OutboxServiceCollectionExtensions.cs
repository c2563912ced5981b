using Microsoft.Extensions.DependencyInjection;

namespace MaaS.ServiceDefaults.Outbox;

/// <summary>Registration of the SQLite outbox.</summary>
public static class OutboxServiceCollectionExtensions
{
    /// <summary>Adds the signal and the dispatcher; the service registers its <see cref="IOutboxDatabase"/>.</summary>
    public static IServiceCollection AddSqliteOutbox(this IServiceCollection services)
    {
        services.AddSingleton<OutboxSignal>();
        services.AddHostedService<OutboxDispatcher>();
        return services;
    }
}
