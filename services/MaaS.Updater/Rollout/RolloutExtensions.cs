using MassTransit;

namespace MaaS.Updater.Rollout;

/// <summary>Registrations of progressive rollouts.</summary>
public static class RolloutExtensions
{
    /// <summary>The rollout manager and what it needs.</summary>
    public static IServiceCollection AddRollouts(this IServiceCollection services)
    {
        services.AddSingleton<IRolloutManager, RolloutManager>();
        return services;
    }

    /// <summary>The consumers of traffic observations.</summary>
    public static IBusRegistrationConfigurator AddRolloutConsumers(this IBusRegistrationConfigurator bus) => bus;
}
