using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Prometheus;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// The gateway's Prometheus metrics (served on Mesh:MetricsPort by ServiceDefaults). Model names a
/// caller made up are collapsed to one label value, so strangers cannot grow the series without bound.
/// </summary>
public static class GatewayMetrics
{
    /// <summary>
    /// Keeps prometheus-net from subscribing, at the first scrape, to every .NET meter and to the
    /// EventSources of ASP.NET Core and System.Net at Informational level: that turns on per-request
    /// events and instruments in Kestrel, hosting and HttpClient on both sides of every forwarded call,
    /// work that costs more than the forwarding. Process metrics stay. Must run before the first scrape.
    /// </summary>
    public static void TurnOffPerRequestRuntimeMetrics() =>
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressMeters = true });

    /// <summary>Model label for a model neither the registry nor any replica knows.</summary>
    public const string UnknownModel = "_unknown";

    private static readonly Counter Requests = Metrics.CreateCounter(
        "maas_gateway_requests_total", "Model requests through the gateway by model, version, protocol and answer code.",
        new CounterConfiguration { LabelNames = ["model", "version", "protocol", "code"] });

    private static readonly Histogram RequestSeconds = Metrics.CreateHistogram(
        "maas_gateway_request_seconds", "Time from the request's arrival at the gateway to the end of forwarding.",
        new HistogramConfiguration
        {
            LabelNames = ["model", "version", "protocol"],
            Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16),
        });

    private static readonly Counter UpstreamErrors = Metrics.CreateCounter(
        "maas_gateway_upstream_errors_total", "Forwards to a replica that failed (connection, protocol or timeout).",
        new CounterConfiguration { LabelNames = ["replica"] });

    private static readonly Counter Retries = Metrics.CreateCounter(
        "maas_gateway_retries_total", "Requests sent again to another replica, by why (connect: the connection failed; unavailable: the replica answered Unavailable).",
        new CounterConfiguration { LabelNames = ["reason"] });

    private static readonly Counter ShadowRequests = Metrics.CreateCounter(
        "maas_gateway_shadow_requests_total", "Shadow copies of ModelInfer calls by model, shadow version and outcome (gRPC status, error, or dropped when the queue was full).",
        new CounterConfiguration { LabelNames = ["model", "version", "outcome"] });

    private static readonly Histogram ShadowSeconds = Metrics.CreateHistogram(
        "maas_gateway_shadow_seconds", "Time a shadow replica took to answer a copied ModelInfer call.",
        new HistogramConfiguration { LabelNames = ["model", "version"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });

    /// <summary>Records one shadow copy's outcome (and its latency when it was sent).</summary>
    public static void Shadow(string model, long version, string outcome, TimeSpan? elapsed)
    {
        var v = version.ToString(CultureInfo.InvariantCulture);
        ShadowRequests.WithLabels(model, v, outcome).Inc();
        MaaS.Gateway.Traffic.TrafficRecorder.Shadow(model, version, outcome);
        if (elapsed is { } e)
        {
            ShadowSeconds.WithLabels(model, v).Observe(e.TotalSeconds);
        }
    }

    /// <summary>Counts one retry on another replica.</summary>
    public static void Retry(string reason) => Retries.WithLabels(reason).Inc();

    /// <summary>The gRPC status of an answer already received (trailers, else trailers-only headers); null when none.</summary>
    public static Grpc.Core.StatusCode? ReceivedGrpcStatus(HttpContext context)
    {
        var value = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers?["grpc-status"].ToString();
        if (string.IsNullOrEmpty(value))
        {
            value = context.Response.Headers["grpc-status"].ToString();
        }
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            && Enum.IsDefined(typeof(Grpc.Core.StatusCode), number)
            ? (Grpc.Core.StatusCode)number
            : null;
    }

    /// <summary>Counts a failed forward to <paramref name="replica"/>.</summary>
    public static void UpstreamError(string replica) => UpstreamErrors.WithLabels(replica).Inc();

    /// <summary>
    /// Records one model request once it is answered: the code is the gRPC status (from the trailers or a
    /// trailers-only answer) or the HTTP status for REST.
    /// </summary>
    public static void Observe(HttpContext context, string model, string version, bool grpc, long startTimestamp)
    {
        var protocol = grpc ? "grpc" : "rest";
        var code = grpc ? GrpcCode(context) : context.Response.StatusCode.ToString(CultureInfo.InvariantCulture);
        Requests.WithLabels(model, version, protocol, code).Inc();
        RequestSeconds.WithLabels(model, version, protocol).Observe(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        MaaS.Gateway.Traffic.TrafficRecorder.Request(model, version, grpc, code, startTimestamp);
    }

    private static string GrpcCode(HttpContext context)
    {
        var value = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers?["grpc-status"].ToString();
        if (string.IsNullOrEmpty(value))
        {
            value = context.Response.Headers["grpc-status"].ToString();
        }
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            && Enum.IsDefined(typeof(Grpc.Core.StatusCode), number))
        {
            return ((Grpc.Core.StatusCode)number).ToString();
        }
        // No status at all: the stream was reset or the client left.
        return context.RequestAborted.IsCancellationRequested ? "Cancelled" : "Unknown";
    }
}
