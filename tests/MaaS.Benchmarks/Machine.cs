using System.Globalization;

namespace MaaS.Benchmarks;

/// <summary>The report's header: where and how the numbers were taken.</summary>
public static class Machine
{
    /// <summary>Title, machine, date, command and method.</summary>
    public static string Header(BenchmarkOptions o) => $"""
        # Benchmarks — inference replica, gateway, transport ceiling

        - **Machine:** {MachineInfo.Summary(withMemory: false)}
        - **Date:** {MachineInfo.UtcNow()} UTC; load average at the start {MachineInfo.LoadAverage()} (other work on the machine skews the numbers)
        - **Command:** `{o.Command}` (from the repository root)
        - **Method:** the tool builds the replica and the gateway in Release and starts them itself on loopback ports: one inference replica standing alone (`--Bus:Transport=InMemory --Services:Registry=http://127.0.0.1:9`, ONNX Runtime settings from its appsettings.json) and a gateway pointed at it (no registry). Models are loaded with RepositoryModelLoad in Triton's form (`file:<version>/model.onnx` bytes + `config` JSON), written by our dense exporter. Closed loop as in perf_analyzer's concurrency mode: each caller sends its next request when the previous one is answered; {o.CallersPerChannel} callers per GrpcChannel. Before the first cell of each target, {o.PrewarmSeconds.ToString(CultureInfo.InvariantCulture)} s of unmeasured calls at concurrency 4 (so the services' JIT tiering has settled); each cell: {o.WarmupSeconds.ToString(CultureInfo.InvariantCulture)} s warm-up, then {o.Seconds.ToString(CultureInfo.InvariantCulture)} s measured. Latency is Stopwatch time from send to answer; percentiles are nearest-rank over the successful calls that ended inside the window; throughput is those calls per second. Client, replica and gateway share the same cores. Under the tables of a and b, the CPU time each service process spent per successful call (user + system from /proc/<pid>/stat over the measured window) — steadier than throughput when other work shares the machine. Scenarios g–i start a second mesh: the real registry (SQLite, in-memory bus), two replicas and a gateway that routes to both and polls them and the registry every 250 ms (that gateway runs with `--Gateway:Auth:Enabled=false`: split, shadow and failover are measured, not keys; scenario b's gateway checks an API key on every call, as in the product).

        """;

    /// <summary>Which execution provider the replica's ONNX Runtime used, from its log.</summary>
    public static string ProviderLine(string? logLine)
    {
        const string marker = "ONNX Runtime runs on ";
        var at = logLine?.IndexOf(marker, StringComparison.Ordinal) ?? -1;
        return at < 0 ? "" : $"- **ONNX Runtime:** {logLine![(at + marker.Length)..].Trim()}\n";
    }
}
