using MassTransit;

namespace MaaS.Updater.Drift;

/// <summary>Registrations of drift detection.</summary>
public static class DriftExtensions
{
    /// <summary>The drift monitor and what it needs: settings (Updater:Drift), the sample store and the registry reference.</summary>
    public static IServiceCollection AddDriftDetection(this IServiceCollection services)
    {
        services.AddOptions<DriftOptions>().BindConfiguration(DriftOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DriftSampleStore>();
        services.AddSingleton<IDriftReference, RegistryDriftReference>();
        services.AddSingleton<IDriftMonitor, DriftMonitor>();
        return services;
    }

    /// <summary>The consumers of sampled inference inputs (queue "updater-inputs-sampled", shared by the updater's replicas).</summary>
    public static IBusRegistrationConfigurator AddDriftConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<InputsSampledConsumer>();
        return bus;
    }
}
