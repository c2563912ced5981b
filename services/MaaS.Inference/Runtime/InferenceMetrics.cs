using Grpc.Core;
using Prometheus;

namespace MaaS.Inference.Runtime;

/// <summary>
/// The Prometheus metrics of the replica (served on <c>/metrics</c> at Mesh:MetricsPort), labelled by
/// model and version. Per-version children are cached by <see cref="ModelStatistics"/>, so the hot path
/// does no label lookups.
/// </summary>
public static class InferenceMetrics
{
    /// <summary>Model label of requests for a model this replica does not serve: unknown names must not grow the series without bound.</summary>
    public const string UnknownModel = "_unknown";

    /// <summary>Outcome label of a successful request.</summary>
    public const string Success = "success";

    /// <summary>Outcome label of a failed request.</summary>
    public const string Failure = "failure";

    private static readonly double[] DurationBuckets = Histogram.ExponentialBuckets(0.00001, 2, 22);

    /// <summary>Requests by outcome (success|failure) and reason (ok, invalid_argument, not_found, cancelled, …).</summary>
    public static readonly Counter Requests = Metrics.CreateCounter("maas_inference_requests_total",
        "Inference requests by model, version, outcome and reason.",
        new CounterConfiguration { LabelNames = ["model", "version", "outcome", "reason"] });

    /// <summary>Rows inferred (the batch dimension; 1 per request for models without one).</summary>
    public static readonly Counter Rows = Metrics.CreateCounter("maas_inference_rows_total",
        "Rows inferred (Triton's inference_count).", new CounterConfiguration { LabelNames = ["model", "version"] });

    /// <summary>Model executions (one per ONNX Runtime run; a batch is one).</summary>
    public static readonly Counter Executions = Metrics.CreateCounter("maas_inference_executions_total",
        "Model executions (Triton's execution_count).", new CounterConfiguration { LabelNames = ["model", "version"] });

    /// <summary>Time a request waited before its execution started.</summary>
    public static readonly Histogram Queue = Metrics.CreateHistogram("maas_inference_queue_seconds",
        "Time requests waited in the queue before running.", new HistogramConfiguration { LabelNames = ["model", "version"], Buckets = DurationBuckets });

    /// <summary>Time one execution took: inputs, run and outputs.</summary>
    public static readonly Histogram Compute = Metrics.CreateHistogram("maas_inference_compute_seconds",
        "Time an execution took (inputs, run, outputs).", new HistogramConfiguration { LabelNames = ["model", "version"], Buckets = DurationBuckets });

    /// <summary>Requests accepted and not yet answered.</summary>
    public static readonly Gauge Pending = Metrics.CreateGauge("maas_inference_pending_requests",
        "Requests accepted and not yet answered.", new GaugeConfiguration { LabelNames = ["model", "version"] });

    /// <summary>1 for every version that is READY on this replica.</summary>
    public static readonly Gauge Loaded = Metrics.CreateGauge("maas_inference_loaded_versions",
        "Model versions ready on this replica (1 per version).", new GaugeConfiguration { LabelNames = ["model", "version"] });

    /// <summary>The reason label of a failure.</summary>
    public static string ReasonOf(Exception ex) => ex switch
    {
        RpcException rpc => ReasonOf(rpc.StatusCode),
        OperationCanceledException => "cancelled",
        _ => "internal",
    };

    /// <summary>The reason label of a status code: its name in snake_case.</summary>
    public static string ReasonOf(StatusCode code) => code switch
    {
        StatusCode.OK => "ok",
        StatusCode.InvalidArgument => "invalid_argument",
        StatusCode.NotFound => "not_found",
        StatusCode.FailedPrecondition => "failed_precondition",
        StatusCode.ResourceExhausted => "resource_exhausted",
        StatusCode.Unavailable => "unavailable",
        StatusCode.Cancelled => "cancelled",
        StatusCode.DeadlineExceeded => "deadline_exceeded",
        _ => "internal",
    };

    /// <summary>Counts a request that failed before a version took it (unknown model or version, bad version text).</summary>
    public static void RecordRejected(string modelLabel, Exception ex) =>
        Requests.WithLabels(modelLabel, "", Failure, ReasonOf(ex)).Inc();
}
