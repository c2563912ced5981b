using MassTransit;

namespace MaaS.Updater.Drift;

/// <summary>Registrations of drift detection.</summary>
public static class DriftExtensions
{
    /// <summary>The drift monitor and what it needs.</summary>
    public static IServiceCollection AddDriftDetection(this IServiceCollection services)
    {
        services.AddSingleton<IDriftMonitor, DriftMonitor>();
        return services;
    }

    /// <summary>The consumers of sampled inference inputs.</summary>
    public static IBusRegistrationConfigurator AddDriftConsumers(this IBusRegistrationConfigurator bus) => bus;
}
