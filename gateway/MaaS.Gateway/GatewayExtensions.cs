using MaaS.Gateway.Forwarding;
using MaaS.Gateway.Routing;
using MaaS.Gateway.Security;
using MaaS.ServiceDefaults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway;

/// <summary>The gateway's registrations and endpoints, called from Program.</summary>
public static class GatewayExtensions
{
    /// <summary>Options, the routing table and its poller, and the forwarders.</summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        // Per-request Information logs (hosting, routing, "Proxying to ...") would cost more CPU than the
        // forwarding itself; failures are still logged as warnings.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        // With this category off, hosting starts no Activity and no logging scope per request (Forwarding/README.md).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);

        GatewayMetrics.TurnOffPerRequestRuntimeMetrics();
        var services = builder.Services;
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();

        services.AddSingleton<RoutingTable>();
        services.AddSingleton<ReplicaDirectory>();
        services.AddSingleton<RoutingRefresh>();
        services.AddHostedService<RoutingPoller>();
        builder.AddMeshBus(bus =>
        {
            RoutingEventsConsumer.Register(bus);
            ApiKeysChangedConsumer.Register(bus);
        });

        services.AddHttpForwarder();
        services.AddSingleton<ForwardingClient>();
        services.AddSingleton<GatewayTransformer>();
        services.AddSingleton<UpstreamFailures>();
        services.AddSingleton<ReplicaForwarder>();
        services.AddSingleton<UnaryForwarder>();
        services.AddSingleton<ShadowMirror>();
        services.AddHostedService(sp => sp.GetRequiredService<ShadowMirror>());
        services.AddSingleton<InferenceGrpcProxy>();
        services.AddSingleton<InferenceRestProxy>();
        services.AddSingleton<AdminProxy>();

        services.AddHealthChecks().AddCheck<ReplicasHealthCheck>("replicas");
        services.AddGatewayTraffic();
        builder.AddGatewaySecurity();
        return builder;
    }

    /// <summary>OIP gRPC and REST to the replicas, admin gRPC to the services, Unimplemented for the rest.</summary>
    public static WebApplication MapGateway(this WebApplication app)
    {
        // Keys and rate limits before any forwarding (Security/README.md).
        app.UseGatewaySecurity();
        // A plain RequestDelegate over the singleton: no per-call parameter binding or service lookup.
        var inference = app.Services.GetRequiredService<InferenceGrpcProxy>();
        app.MapPost($"/{InferenceGrpcProxy.Service}/{{method}}", (RequestDelegate)inference.HandleAsync);
        foreach (var (service, setting) in AdminProxy.Services)
        {
            app.MapPost($"/{service}/{{method}}", (HttpContext context, AdminProxy proxy) => proxy.HandleAsync(context, setting));
        }

        app.MapGet("/v2/health/live", InferenceRestProxy.Live);
        app.MapGet("/v2/health/ready", (InferenceRestProxy proxy) => proxy.Ready());
        // Server-wide REST calls go to any live replica, as the gRPC ones do.
        app.MapGet("/v2", (HttpContext context, InferenceRestProxy proxy) => proxy.ServerAsync(context));
        app.MapPost("/v2/repository/index", (HttpContext context, InferenceRestProxy proxy) => proxy.ServerAsync(context));
        app.MapGet("/v2/models/stats", (HttpContext context, InferenceRestProxy proxy) => proxy.ServerAsync(context));
        foreach (var prefix in new[] { "/v2/models/{model}", "/v2/models/{model}/versions/{version}" })
        {
            app.MapGet(prefix, (HttpContext context, InferenceRestProxy proxy) => proxy.ModelAsync(context, ""));
            app.MapGet(prefix + "/ready", (HttpContext context, InferenceRestProxy proxy) => proxy.ModelAsync(context, "/ready"));
            app.MapGet(prefix + "/stats", (HttpContext context, InferenceRestProxy proxy) => proxy.ModelAsync(context, "/stats"));
            app.MapPost(prefix + "/infer", (HttpContext context, InferenceRestProxy proxy) => proxy.ModelAsync(context, "/infer"));
        }

        app.MapFallback(context => GatewayResponses.IsGrpc(context.Request)
            ? GatewayResponses.WriteGrpcErrorAsync(context, Grpc.Core.StatusCode.Unimplemented,
                $"The gateway offers no gRPC method at {context.Request.Path}.")
            : GatewayResponses.WriteRestErrorAsync(context, StatusCodes.Status404NotFound,
                $"The gateway has no endpoint at {context.Request.Method} {context.Request.Path}."));
        return app;
    }

    /// <summary>Healthy when a replica can serve; degraded (still up) while none can.</summary>
    private sealed class ReplicasHealthCheck(RoutingTable table) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(table.AnyReplicaReady
                ? HealthCheckResult.Healthy("At least one inference replica has a version ready.")
                : HealthCheckResult.Degraded("No inference replica has a version ready yet."));
    }
}
