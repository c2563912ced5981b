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
                _ => scenarios.CyclesAsync(),
            });
        }
        catch (Exception ex) when (ex is HarnessException or Grpc.Core.RpcException)
        {
            // One scenario failing must not cost the others their numbers.
            measured.NotRun[s] = ex.Message;
            report.Note($"**Scenario {s} stopped:** {ex.Message}");
        }
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
