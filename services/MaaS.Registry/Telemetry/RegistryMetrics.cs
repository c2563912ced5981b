using System.Collections.Concurrent;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Prometheus;

namespace MaaS.Registry.Telemetry;

/// <summary>
/// The registry's Prometheus metrics (served on Mesh:MetricsPort by ServiceDefaults): versions registered and
/// deployments and aliases changed, per model (names exist only once created, so the series stay bounded),
/// and every gRPC call by method and status code.
/// </summary>
public static class RegistryMetrics
{
    private static readonly Counter VersionsRegistered = Metrics.CreateCounter("maas_registry_versions_registered_total",
        "Model versions registered (blob and metadata committed), by model.", new CounterConfiguration { LabelNames = ["model"] });

    private static readonly Counter DeploymentsChanged = Metrics.CreateCounter("maas_registry_deployments_changed_total",
        "New deployment revisions (traffic split or shadow changed), by model.", new CounterConfiguration { LabelNames = ["model"] });

    private static readonly Counter AliasesMoved = Metrics.CreateCounter("maas_registry_aliases_moved_total",
        "Alias moves (including rollbacks), by model and alias.", new CounterConfiguration { LabelNames = ["model", "alias"] });

    private static readonly Counter Requests = Metrics.CreateCounter("maas_registry_requests_total",
        "gRPC calls answered by the registry, by method (Service/Method) and status code.", new CounterConfiguration { LabelNames = ["rpc", "code"] });

    private static readonly ConcurrentDictionary<string, string> RpcLabels = new(StringComparer.Ordinal);

    /// <summary>Counts a registered version.</summary>
    public static void VersionRegistered(string model) => VersionsRegistered.WithLabels(model).Inc();

    /// <summary>Counts a new deployment revision.</summary>
    public static void DeploymentChanged(string model) => DeploymentsChanged.WithLabels(model).Inc();

    /// <summary>Counts an alias move.</summary>
    public static void AliasMoved(string model, string alias) => AliasesMoved.WithLabels(model, alias).Inc();

    /// <summary>Counts one answered call.</summary>
    public static void Request(string method, StatusCode code) => Requests.WithLabels(RpcLabel(method), code.ToString()).Inc();

    /// <summary>Current count of versions registered for a model (tests, diagnostics).</summary>
    public static double VersionsRegisteredFor(string model) => VersionsRegistered.WithLabels(model).Value;

    /// <summary>Current count of calls to a method with a code (tests, diagnostics).</summary>
    public static double RequestsFor(string method, StatusCode code) => Requests.WithLabels(RpcLabel(method), code.ToString()).Value;

    // "/maas.registry.v1.RegistryService/GetModel" → "RegistryService/GetModel"; computed once per method.
    private static string RpcLabel(string method) => RpcLabels.GetOrAdd(method, static m =>
    {
        var trimmed = m.TrimStart('/');
        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        var service = slash < 0 ? trimmed : trimmed[..slash];
        var dot = service.LastIndexOf('.');
        return (dot < 0 ? service : service[(dot + 1)..]) + (slash < 0 ? "" : trimmed[slash..]);
    });
}

/// <summary>
/// Counts every call by method and final status. It runs inside ServiceDefaults' ErrorInterceptor, so an
/// escaped exception is counted as the status that interceptor will send (Cancelled or Internal).
/// </summary>
public sealed class RegistryRequestMetricsInterceptor : Interceptor
{
    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            var response = await continuation(request, context);
            RegistryMetrics.Request(context.Method, StatusCode.OK);
            return response;
        }
        catch (Exception ex)
        {
            RegistryMetrics.Request(context.Method, CodeOf(ex, context));
            throw;
        }
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            var response = await continuation(requestStream, context);
            RegistryMetrics.Request(context.Method, StatusCode.OK);
            return response;
        }
        catch (Exception ex)
        {
            RegistryMetrics.Request(context.Method, CodeOf(ex, context));
            throw;
        }
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
            RegistryMetrics.Request(context.Method, StatusCode.OK);
        }
        catch (Exception ex)
        {
            RegistryMetrics.Request(context.Method, CodeOf(ex, context));
            throw;
        }
    }

    private static StatusCode CodeOf(Exception ex, ServerCallContext context) => ex switch
    {
        RpcException rpc => rpc.StatusCode,
        OperationCanceledException when context.CancellationToken.IsCancellationRequested => StatusCode.Cancelled,
        _ => StatusCode.Internal,
    };
}

/// <summary>Registration of the registry's request metrics.</summary>
public static class RegistryTelemetryExtensions
{
    /// <summary>Adds the request-counting interceptor to every gRPC service of the registry.</summary>
    public static IServiceCollection AddRegistryTelemetry(this IServiceCollection services)
    {
        services.AddSingleton<RegistryRequestMetricsInterceptor>();
        services.Configure<GrpcServiceOptions>(o => o.Interceptors.Add<RegistryRequestMetricsInterceptor>());
        return services;
    }
}
