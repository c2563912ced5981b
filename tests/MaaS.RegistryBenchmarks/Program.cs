using MaaS.RegistryBenchmarks;
using MaaS.RegistryBenchmarks.Hosting;
using MaaS.RegistryBenchmarks.Reporting;
using MaaS.RegistryBenchmarks.Scenarios;

if (!ToolRun.TryParse(() => BenchOptions.Parse(args), BenchOptions.Usage, out var options)) return 2;

// Ctrl-C must not leave a registry running (the servers are stopped by their scripts on the way out).
ServiceProcess.KillAllOnExit();

var progress = Console.Error;
var header = Report.Header(options);
Console.Out.Write(header);
var report = new Report(Console.Out);
var work = ToolRun.CreateWorkFolder("maas-registry-bench-", progress);
var stores = new List<StoreResults>();
OutageResults? outage = null;
string? outageFailure = null;
var ok = true;
try
{
    if (!options.NoBuild) await RegistryHost.BuildAsync(options.RepoRoot, progress);
    var ports = Ports.Pick(options.PortBase);
    foreach (var store in options.Stores)
    {
        var results = new StoreResults(store);
        stores.Add(results);
        if (!options.Scenarios.Any(s => s is "populate" or "upload" or "query")) continue;
        await using var registry = await RegistryHost.StartAsync(options, store, work, ports, bus: null, progress, "registry-" + store);
        var context = new ScenarioContext(options, registry, results, progress);
        foreach (var scenario in options.Scenarios.Where(s => s != "outage"))
        {
            try
            {
                await (scenario switch
                {
                    "populate" => PopulateScenario.RunAsync(context),
                    "upload" => UploadScenario.RunAsync(context),
                    _ => QueryScenario.RunAsync(context),
                });
            }
            catch (Exception ex) when (ex is HarnessException or Grpc.Core.RpcException)
            {
                // One scenario failing must not cost the others their numbers.
                results.Failed[scenario] = ex.Message;
                progress.WriteLine($"[{store}] {scenario} stopped: {ex.Message}");
                ok = false;
                if (scenario == "populate") break;
            }
        }
    }
    if (options.Scenarios.Contains("outage"))
    {
        try
        {
            outage = await OutageScenario.RunAsync(options, work, Ports.Pick(options.PortBase), progress);
        }
        catch (Exception ex) when (ex is HarnessException or Grpc.Core.RpcException or MassTransit.MassTransitException)
        {
            outageFailure = ex.Message;
            progress.WriteLine($"[outage] stopped: {ex.Message}");
            ok = false;
        }
    }
}
catch (HarnessException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine($"logs are in {work}");
    return 1;
}

Sections.Write(report, options, stores, outage, outageFailure);
var document = header.TrimEnd() + "\n" + report.Body;
await ToolRun.WriteReportAsync(options.Out, document, progress);
// The PostgreSQL data folder belongs to the postgres user and may stay behind; it is in /tmp, not worth a line.
ToolRun.FinishWorkFolder(work, ok && !options.Keep, progress, sayWhenStuck: false);
return ok ? 0 : 1;
