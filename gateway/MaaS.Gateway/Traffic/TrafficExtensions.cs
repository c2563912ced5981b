using MaaS.Gateway.Traffic;

namespace MaaS.Gateway;

/// <summary>Registration of the traffic windows the gateway publishes (in the root namespace, as AddGateway, so GatewayExtensions needs one line).</summary>
public static class TrafficExtensions
{
    /// <summary>Settings (Gateway:Traffic) and the publisher over the process's <see cref="TrafficRecorder.Shared"/> counts.</summary>
    public static IServiceCollection AddGatewayTraffic(this IServiceCollection services)
    {
        services.AddOptions<TrafficOptions>().BindConfiguration(TrafficOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddHostedService(sp => ActivatorUtilities.CreateInstance<TrafficPublisher>(sp, TrafficRecorder.Shared,
            sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return services;
    }
}
