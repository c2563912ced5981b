using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Security;

/// <summary>Registration and pipeline placement of API keys and rate limits.</summary>
public static class GatewaySecurityExtensions
{
    /// <summary>Options (validated at start), the key store, and its creation at start (bootstrap admin key).</summary>
    public static WebApplicationBuilder AddGatewaySecurity(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GatewaySecurityOptions>().BindConfiguration(GatewaySecurityOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewaySecurityOptions>, GatewaySecurityOptionsValidator>();
        services.AddSingleton<ApiKeyStore>();
        services.AddHostedService<KeyStoreStartup>();
        return builder;
    }

    /// <summary>
    /// The key check in front of every endpoint, and maas.gateway.v1.KeyService. With Gateway:Auth:Enabled=false
    /// neither exists: every call passes and key management answers Unimplemented.
    /// </summary>
    public static WebApplication UseGatewaySecurity(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<GatewaySecurityOptions>>().Value;
        if (!options.Enabled)
        {
            return app;
        }
        app.UseMiddleware<GatewaySecurityMiddleware>(options.OpenInference);
        app.MapGrpcService<KeyGrpcService>();
        return app;
    }

    /// <summary>Opens the key file and writes the admin key at start, not at the first request.</summary>
    private sealed class KeyStoreStartup(IServiceProvider services, IOptions<GatewaySecurityOptions> options) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (options.Value.Enabled)
            {
                services.GetRequiredService<ApiKeyStore>();
            }
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
