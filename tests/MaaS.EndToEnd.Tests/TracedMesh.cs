namespace MaaS.EndToEnd.Tests;

/// <summary>
/// The whole mesh with tracing on in every service (no exporter: the trace ids go into the log lines) and the
/// update loop's clocks shortened as in <see cref="UpdateLoopMesh"/>. The updater's trigger loop is slowed to
/// its longest tick so the IngestRows call itself launches the retraining (the loop has no caller's trace), and
/// the log levels are raised just enough to show each hop: the gateway's request lines (hosting) and the outboxes'
/// publish lines (Debug), which are written inside the span of the event they publish.
/// </summary>
public sealed class TracedMesh : UpdateLoopMesh
{
    private const string OutboxDebug = "--Logging:LogLevel:MaaS.ServiceDefaults.Outbox=Debug";

    /// <inheritdoc />
    /// <remarks>After the update loop's settings, so that the later value of a key wins.</remarks>
    protected override IEnumerable<string> ExtraArgs(string service) => [.. base.ExtraArgs(service), "--Telemetry:Enabled=true", .. ForService(service)];

    private static string[] ForService(string service) => service switch
    {
        "updater" => ["--Updater:TriggerTickMilliseconds=60000", OutboxDebug],
        "registry" or "trainer" => [OutboxDebug],
        // The gateway turns this category off in code; a rule for the console provider outranks that rule.
        "gateway" => ["--Logging:Console:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Information"],
        _ => [],
    };
}
