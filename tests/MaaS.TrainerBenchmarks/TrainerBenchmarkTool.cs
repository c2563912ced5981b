using Grpc.Core;
using MaaS.TrainerBenchmarks.Hosting;
using MaaS.TrainerBenchmarks.Reporting;
using MaaS.TrainerBenchmarks.Scenarios;

namespace MaaS.TrainerBenchmarks;

/// <summary>
/// Entry point. A class with Main rather than top-level statements: the referenced trainer already has a
/// global <c>Program</c> class.
/// </summary>
public static class TrainerBenchmarkTool
{
    /// <summary>Runs the scenarios and writes the report; 0 when every scenario ran, 1 when one stopped, 2 on bad arguments.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (!ToolRun.TryParse(() => BenchOptions.Parse(args), BenchOptions.Usage, out var options)) return 2;

        // Ctrl-C must not leave a trainer running (the broker is stopped by its script on the normal way out).
        ServiceProcess.KillAllOnExit();

        var progress = Console.Error;
        var work = ToolRun.CreateWorkFolder("maas-trainer-bench-", progress);
        var results = new Results();
        try
        {
            if (!options.NoBuild) await TrainerMesh.BuildAsync(options.RepoRoot, progress);
            await using var mesh = await TrainerMesh.StartAsync(options, work, progress);
            var a = await mesh.StartTrainerAsync("a");
            await Scenario(results, "seed", options, progress, async () => results.Seed = await SeedScenario.RunAsync(mesh, a, options, progress));
            await Scenario(results, "overhead", options, progress, async () => results.Overhead = await OverheadScenario.RunAsync(mesh, a, options, progress));
            await Scenario(results, "queue", options, progress, async () => results.Queue = await QueueScenario.RunAsync(mesh, options, progress, 1, 2));
        }
        catch (HarnessException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine($"logs are in {work}");
            return 1;
        }

        var document = Report.Write(options, results);
        Console.Out.Write(document);
        await ToolRun.WriteReportAsync(options.Out, document, progress);
        var ok = results.Failed.Count == 0;
        ToolRun.FinishWorkFolder(work, ok && !options.Keep, progress, sayWhenStuck: true);
        return ok ? 0 : 1;
    }

    // One scenario failing must not cost the others their numbers.
    private static async Task Scenario(Results results, string name, BenchOptions options, TextWriter progress, Func<Task> run)
    {
        if (!options.Scenarios.Contains(name)) return;
        try
        {
            await run();
        }
        catch (Exception ex) when (ex is HarnessException or RpcException or MassTransit.MassTransitException or TimeoutException)
        {
            results.Failed[name] = ex.Message;
            progress.WriteLine($"[{name}] stopped: {ex.Message}");
        }
    }
}
