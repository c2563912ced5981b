using System.Net;
using Grpc.Net.ClientFactory;
using MaaS.ServiceDefaults.Telemetry;
using MassTransit;
using Prometheus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MaaS.ServiceDefaults;

/// <summary>The wiring every MaaS.Mesh service starts with.</summary>
public static class MeshHostingExtensions
{
    /// <summary>Largest gRPC message a service takes or a client accepts (well above gRPC's 4 MiB default).</summary>
    public const int MaxMessageBytes = 64 * 1024 * 1024;

    /// <summary>
    /// Kestrel endpoints (gRPC as HTTP/2-only, since cleartext Http1AndHttp2 silently means HTTP/1.1;
    /// REST as HTTP/1.1), single-line (or JSON) logs with trace ids, tracing when configured (Telemetry section),
    /// gRPC with the error interceptor, health checks and server reflection.
    /// </summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        StartupFailures.Install(builder);
        builder.Services.AddOptions<MeshHostOptions>().BindConfiguration(MeshHostOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ServiceUrlsOptions>().BindConfiguration(ServiceUrlsOptions.Section);

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var host = context.Configuration.GetSection(MeshHostOptions.Section).Get<MeshHostOptions>() ?? new MeshHostOptions();
            if (!IPAddress.TryParse(host.BindAddress, out var address))
            {
                throw new OptionsValidationException(MeshHostOptions.Section, typeof(MeshHostOptions),
                    [$"Mesh:BindAddress must be an IP address; it is '{host.BindAddress}'."]);
            }
            kestrel.Limits.MaxRequestBodySize = MaxMessageBytes;
            if (host.GrpcPort > 0)
            {
                kestrel.Listen(address, host.GrpcPort, listen => listen.Protocols = HttpProtocols.Http2);
            }
            if (host.HttpPort > 0)
            {
                kestrel.Listen(address, host.HttpPort, listen => listen.Protocols = HttpProtocols.Http1);
            }
            if (host.MetricsPort > 0)
            {
                kestrel.Listen(address, host.MetricsPort, listen => listen.Protocols = HttpProtocols.Http1);
            }
        });

        builder.AddMeshLogging();
        builder.AddMeshTracing();

        builder.Services.AddSingleton<ErrorInterceptor>();
        builder.Services.AddGrpc(o =>
        {
            o.Interceptors.Add<ErrorInterceptor>();
            o.MaxReceiveMessageSize = MaxMessageBytes;
            o.MaxSendMessageSize = MaxMessageBytes;
        });
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddGrpcReflection();
        return builder;
    }

    /// <summary>
    /// MassTransit over RabbitMQ (or in memory for single-service tests); consumers and their
    /// endpoints come from <paramref name="configure"/>.
    /// </summary>
    public static WebApplicationBuilder AddMeshBus(this WebApplicationBuilder builder, Action<IBusRegistrationConfigurator> configure)
    {
        builder.Services.AddOptions<BusOptions>().BindConfiguration(BusOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        var bus = builder.Configuration.GetSection(BusOptions.Section).Get<BusOptions>() ?? new BusOptions();

        builder.Services.AddMassTransit(x =>
        {
            // Queues are named after the service and the consumer ("updater-model-trained"), so two
            // services consuming the same event never compete for one queue; replicas of one service do.
            x.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter(ServicePrefix() + "-", false));
            configure(x);
            if (bus.Transport == "InMemory")
            {
                x.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
                return;
            }
            x.UsingRabbitMq((context, cfg) =>
            {
                var o = context.GetRequiredService<IOptions<BusOptions>>().Value;
                cfg.Host(o.Host, (ushort)o.Port, o.VirtualHost, h =>
                {
                    h.Username(o.Username);
                    h.Password(o.Password);
                });
                cfg.PrefetchCount = o.PrefetchCount;
                cfg.UseMessageRetry(r => r.Intervals(100, 500, 2000));
                cfg.ConfigureEndpoints(context);
            });
        });
        return builder;
    }

    private static string ServicePrefix()
    {
        var name = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "maas";
        return name.StartsWith("MaaS.", StringComparison.Ordinal) ? name["MaaS.".Length..].ToLowerInvariant() : name.ToLowerInvariant();
    }

    /// <summary>A typed gRPC client for another service, its address from <c>Services:{service}</c>.</summary>
    public static IHttpClientBuilder AddMeshGrpcClient<TClient>(this IServiceCollection services, string service)
        where TClient : class
    {
        return services.AddGrpcClient<TClient>((sp, o) =>
                o.Address = sp.GetRequiredService<IOptions<ServiceUrlsOptions>>().Value.Require(service))
            .ConfigureChannel(o =>
            {
                o.MaxReceiveMessageSize = MaxMessageBytes;
                o.MaxSendMessageSize = MaxMessageBytes;
            });
    }

    /// <summary>
    /// gRPC health (grpc.health.v1), server reflection (grpc.reflection), maas.diagnostics.v1 (the transport ceiling), <c>/healthz</c>
    /// (every check, including the bus: 200 only when the service can do its work), <c>/livez</c>
    /// (the process answers) and, when <c>Mesh:MetricsPort</c> is set, Prometheus <c>/metrics</c>
    /// on that port only.
    /// </summary>
    public static WebApplication MapMeshDefaults(this WebApplication app)
    {
        app.MapGrpcHealthChecksService();
        app.MapGrpcService<DiagnosticsGrpcService>();
        // Lets grpcurl list and call every service without the .proto files.
        app.MapGrpcReflectionService();
        app.MapHealthChecks("/healthz");
        app.MapGet("/livez", () => Results.Text("live"));
        var host = app.Services.GetRequiredService<IOptions<MeshHostOptions>>().Value;
        if (host.MetricsPort > 0)
        {
            app.MapMetrics().RequireHost($"*:{host.MetricsPort}");
        }
        return app;
    }
}
