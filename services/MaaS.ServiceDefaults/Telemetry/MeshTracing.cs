using System.Diagnostics;
using MassTransit;
using MassTransit.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MaaS.ServiceDefaults.Telemetry;

/// <summary>
/// OpenTelemetry tracing for every service: incoming ASP.NET Core and gRPC calls, outgoing HttpClient and
/// gRPC client calls, MassTransit's publish and consume spans (W3C traceparent in the message headers, so
/// a trace crosses RabbitMQ), and the mesh's own spans (<see cref="Source"/>). Configured by
/// <see cref="TelemetryOptions"/>; when off nothing is registered and no listener exists, so no span is built.
/// </summary>
public static class MeshTracing
{
    /// <summary>Name of the mesh's own activity source (outbox publishes, training jobs).</summary>
    public const string SourceName = "MaaS.Mesh";

    /// <summary>The mesh's own activity source.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    // Probes and scrapes every few seconds would bury the traces that matter.
    private static readonly string[] UntracedPrefixes = ["/healthz", "/livez", "/metrics", "/grpc.health.v1.", "/grpc.reflection."];

    /// <summary>Registers tracing when <c>Telemetry:OtlpEndpoint</c> is set or <c>Telemetry:Enabled</c> is true; else nothing.</summary>
    public static WebApplicationBuilder AddMeshTracing(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.OtlpEndpoint.Length == 0 || IsHttpUri(o.OtlpEndpoint),
                "Telemetry:OtlpEndpoint must be an absolute http(s) address such as http://otel-collector:4317, or empty for no exporter.")
            .ValidateOnStart();
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (!options.Tracing) return builder;

        CorrelationTraces.Enabled = true;
        builder.Services.AddConsumeObserver<CorrelationTraceObserver>();
        var serviceName = options.ServiceName.Length > 0 ? options.ServiceName : MeshNamesOfProcess.Service;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceInstanceId: Environment.MachineName))
            .WithTracing(tracing =>
            {
                tracing.SetSampler(Sampler(options.SampleRatio))
                    .AddSource(SourceName, DiagnosticHeaders.DefaultListenerName)
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsUntraced(context.Request.Path))
                    .AddHttpClientInstrumentation()
                    .AddGrpcClientInstrumentation();
                if (IsHttpUri(options.OtlpEndpoint))
                {
                    tracing.AddOtlpExporter(o => o.Endpoint = new Uri(options.OtlpEndpoint));
                }
            });
        return builder;
    }

    // Parent-based: a call that arrives sampled is recorded, so a trace is never cut in the middle of the mesh.
    private static Sampler Sampler(double ratio) =>
        new ParentBasedSampler(ratio >= 1.0 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(Math.Max(0, ratio)));

    private static bool IsUntraced(PathString path)
    {
        foreach (var prefix in UntracedPrefixes)
        {
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase)
                || (path.Value?.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ?? false))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsHttpUri(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}

/// <summary>The short name of the running service, from its entry assembly: MaaS.Registry → registry.</summary>
internal static class MeshNamesOfProcess
{
    public static string Service { get; } = Compute();

    private static string Compute()
    {
        var name = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "maas";
        return name.StartsWith("MaaS.", StringComparison.Ordinal) ? name["MaaS.".Length..].ToLowerInvariant() : name.ToLowerInvariant();
    }
}
