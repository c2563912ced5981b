using System.ComponentModel.DataAnnotations;

namespace MaaS.ServiceDefaults.Telemetry;

/// <summary>
/// Tracing (section <c>Telemetry</c>). Off unless an OTLP endpoint is set or <see cref="Enabled"/> is true,
/// so a laptop run needs nothing and the gateway's hot path starts no span it would throw away.
/// </summary>
public sealed class TelemetryOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Telemetry";

    /// <summary>OTLP collector address (gRPC, e.g. http://otel-collector:4317); empty = no exporter.</summary>
    public string OtlpEndpoint { get; set; } = "";

    /// <summary>Trace without an exporter (spans for log correlation and for in-process listeners such as tests).</summary>
    public bool Enabled { get; set; }

    /// <summary>Share of new traces recorded, 0 to 1; a call that arrives with a sampled parent is always recorded.</summary>
    [Range(0.0, 1.0)]
    public double SampleRatio { get; set; } = 1.0;

    /// <summary>The service name spans carry; empty = the process's own (registry, trainer, …).</summary>
    public string ServiceName { get; set; } = "";

    /// <summary>Whether any tracing is on.</summary>
    public bool Tracing => Enabled || OtlpEndpoint.Length > 0;
}
