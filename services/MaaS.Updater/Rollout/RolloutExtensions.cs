using MassTransit;

namespace MaaS.Updater.Rollout;

/// <summary>Registrations of progressive rollouts.</summary>
public static class RolloutExtensions
{
    /// <summary>The rollout manager, its store, its registry calls, its settings (Updater:Rollouts) and its driver.</summary>
    public static IServiceCollection AddRollouts(this IServiceCollection services)
    {
        services.AddOptions<RolloutOptions>().BindConfiguration(RolloutOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RolloutStore>();
        services.AddSingleton<IRolloutRegistry, RolloutRegistry>();
        services.AddSingleton<RolloutManager>();
        services.AddSingleton<IRolloutManager>(sp => sp.GetRequiredService<RolloutManager>());
        services.AddHostedService<RolloutDriver>();
        return services;
    }

    /// <summary>The consumers of traffic observations (queue shared by the updater's replicas).</summary>
    public static IBusRegistrationConfigurator AddRolloutConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<TrafficObservedConsumer>();
        return bus;
    }
}
