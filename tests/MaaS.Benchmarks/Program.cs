using MaaS.Benchmarks;
using MaaS.Benchmarks.Hosting;
using MaaS.Benchmarks.Reporting;

if (!ToolRun.TryParse(() => BenchmarkOptions.Parse(args), BenchmarkOptions.Usage, out var options)) return 2;

// Ctrl-C must not leave the replica and gateway running.
ServiceProcess.KillAllOnExit();

var progress = Console.Error;
var header = Machine.Header(options);
Console.Out.Write(header);
var report = new MarkdownReport(Console.Out);
var measured = new Measured();
string? provider;
try
{
    await using var mesh = await BenchMesh.StartAsync(options, withGateway: options.Scenarios.Contains("b"), progress);
    var scenarios = new Scenarios(options, mesh, report, measured, progress);
    // g, h and i share a second mesh (registry, two replicas, a gateway), started when the first of them runs.
    GatewayMesh? gatewayMesh = null;
    async Task<GatewayScenarios> GatewayScenariosAsync()
    {
        gatewayMesh ??= await GatewayMesh.StartAsync(options, progress);
        return new GatewayScenarios(options, gatewayMesh, report, measured, progress);
    }
    try
    {
        foreach (var s in options.Scenarios)
        {
            progress.WriteLine($"scenario {s}");
            try
            {
                await (s switch
                {
                    "a" => scenarios.DirectAsync(),
                    "b" => scenarios.GatewayAsync(),
                    "c" => scenarios.EmptyCallAsync(),
                    "d" => scenarios.BatchingAsync(),
                    "e" => scenarios.SwapAsync(),
                    "f" => scenarios.CyclesAsync(),
                    "g" => (await GatewayScenariosAsync()).SplitAsync(),
                    "h" => (await GatewayScenariosAsync()).ShadowAsync(),
                    _ => (await GatewayScenariosAsync()).KillAsync(),
                });
            }
            catch (Exception ex) when (ex is HarnessException or Grpc.Core.RpcException or HttpRequestException)
            {
                // One scenario failing must not cost the others their numbers.
                measured.NotRun[s] = ex.Message;
                report.Note($"**Scenario {s} stopped:** {ex.Message}");
            }
        }
    }
    finally
    {
        if (gatewayMesh is not null) await gatewayMesh.DisposeAsync();
    }
    provider = mesh.Replica.LastLogLine("ONNX Runtime runs on");
    mesh.Succeeded = true;
}
catch (HarnessException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 1;
}

Targets.Write(report, measured);
var document = header.TrimEnd() + "\n" + Machine.ProviderLine(provider) + report.Body;
await ToolRun.WriteReportAsync(options.Out, document, progress);
return 0;
