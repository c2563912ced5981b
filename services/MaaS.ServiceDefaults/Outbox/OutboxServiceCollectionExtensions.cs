using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MaaS.ServiceDefaults.Outbox;

/// <summary>Registration of the outbox dispatcher.</summary>
public static class OutboxServiceCollectionExtensions
{
    /// <summary>
    /// Adds the signal and the dispatcher over the service's SQLite file; the service registers its
    /// <see cref="IOutboxDatabase"/>.
    /// </summary>
    public static IServiceCollection AddSqliteOutbox(this IServiceCollection services)
    {
        services.TryAddSingleton<IOutboxStore>(sp => new SqliteOutboxStore(sp.GetRequiredService<IOutboxDatabase>()));
        return services.AddOutbox();
    }

    /// <summary>Adds the signal and the dispatcher; the service registers the <see cref="IOutboxStore"/> of its database.</summary>
    public static IServiceCollection AddOutbox(this IServiceCollection services)
    {
        services.TryAddSingleton<OutboxSignal>();
        services.AddHostedService<OutboxDispatcher>();
        return services;
    }
}
