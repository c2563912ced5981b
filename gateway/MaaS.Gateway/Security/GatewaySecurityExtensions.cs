using MaaS.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Security;

/// <summary>Registration and pipeline placement of API keys and rate limits.</summary>
public static class GatewaySecurityExtensions
{
    /// <summary>Options (validated at start), the key store over its database, its creation at start (bootstrap admin key) and its reloads.</summary>
    public static WebApplicationBuilder AddGatewaySecurity(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GatewaySecurityOptions>().BindConfiguration(GatewaySecurityOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewaySecurityOptions>, GatewaySecurityOptionsValidator>();
        services.AddSingleton<IApiKeyDatabase>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<GatewaySecurityOptions>>().Value;
            return options.Store == GatewaySecurityOptions.StorePostgres
                ? new PostgresApiKeyDatabase(options.ConnectionString, sp.GetRequiredService<ILogger<PostgresApiKeyDatabase>>())
                : new SqliteApiKeyDatabase(sp.GetRequiredService<IOptions<MeshHostOptions>>().Value.DataDirectory);
        });
        services.AddSingleton<ApiKeyStore>();
        services.AddHostedService<ApiKeyRefresher>();
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
}
