using MaaS.Benchmarks;
using MaaS.Benchmarks.Hosting;
using MaaS.Benchmarks.Reporting;

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (ArgumentException ex)
{
    if (ex.Message.Length > 0) Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(BenchmarkOptions.Usage);
    return 2;
}

// Ctrl-C must not leave the replica and gateway running.
Console.CancelKeyPress += (_, _) => ServiceProcess.KillAll();
AppDomain.CurrentDomain.ProcessExit += (_, _) => ServiceProcess.KillAll();

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
        catch (Exception ex) when (ex is BenchmarkException or Grpc.Core.RpcException)
        {
            // One scenario failing must not cost the others their numbers.
            measured.NotRun[s] = ex.Message;
            report.Note($"**Scenario {s} stopped:** {ex.Message}");
        }
    }
    provider = mesh.Replica.LastLogLine("ONNX Runtime runs on");
    mesh.Succeeded = true;
}
catch (BenchmarkException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 1;
}

Targets.Write(report, measured);
var document = header.TrimEnd() + "\n" + Machine.ProviderLine(provider) + report.Body;
if (options.Out is not null)
{
    var path = Path.GetFullPath(options.Out);
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    await File.WriteAllTextAsync(path, document);
    progress.WriteLine($"wrote {path}");
}
return 0;
