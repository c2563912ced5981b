using System.Diagnostics;
using Grpc.Core;
using MaaS.UpdaterBenchmarks.Hosting;
using MaaS.UpdaterBenchmarks.Reporting;
using MaaS.UpdaterBenchmarks.Scenarios;

namespace MaaS.UpdaterBenchmarks;

/// <summary>Entry point: starts the mesh, runs the scenarios in order on one model, writes the report.</summary>
public static class UpdaterBenchmarkTool
{
    /// <summary>0 when every scenario ran, 1 when one stopped, 2 on bad arguments.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (!ToolRun.TryParse(() => BenchOptions.Parse(args), BenchOptions.Usage, out var options)) return 2;

        // Ctrl-C must not leave a service running (the broker is stopped by its script on the normal way out).
        ServiceProcess.KillAllOnExit();

        var progress = Console.Error;
        var work = ToolRun.CreateWorkFolder("maas-updater-bench-", progress);
        var results = new Results();
        try
        {
            if (!options.NoBuild) await UpdaterMesh.BuildAsync(options, progress);
            await using var mesh = await UpdaterMesh.StartAsync(options, work, progress);
            var client = new LoopClient(mesh, progress, "bench-line", epochs: 300);
            // Its own model whose spec (reused by every retraining) takes seconds to train, so the broker can be stopped while it runs.
            var slow = new LoopClient(mesh, progress, "bench-restart", epochs: options.RestartEpochs);
            await Scenario(results, "loop", options, progress, async () => results.Loop = await LoopScenario.RunAsync(client, slope: 3, seed: 1, progress));
            await Scenario(results, "rollback", options, progress, async () => results.Rollback = await RollbackScenario.RunAsync(client, progress));
            await Scenario(results, "restart", options, progress, async () => results.Restart = await LoopScenario.RunAsync(slow, slope: 3, seed: 2, progress,
                clock => RestartBrokerAsync(mesh, clock, options.BrokerDownSeconds, progress)));
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

    // Stops the broker while the retraining runs, keeps it down, starts it again; the steps are on the scenario's clock.
    private static async Task<List<StepTime>> RestartBrokerAsync(UpdaterMesh mesh, Stopwatch clock, int downSeconds, TextWriter progress)
    {
        var steps = new List<StepTime> { new("broker stop requested (infra/rabbitmq.sh stop)", clock.Elapsed.TotalSeconds, "client") };
        await mesh.StopBrokerAsync();
        steps.Add(new StepTime("broker stopped", clock.Elapsed.TotalSeconds, "client"));
        progress.WriteLine($"[restart] broker down for {downSeconds} s");
        await Task.Delay(TimeSpan.FromSeconds(downSeconds));
        steps.Add(new StepTime("broker start requested (infra/rabbitmq.sh start)", clock.Elapsed.TotalSeconds, "client"));
        await mesh.StartBrokerAsync();
        steps.Add(new StepTime("broker takes connections again", clock.Elapsed.TotalSeconds, "client"));
        return steps;
    }

    // One scenario failing must not cost the others their numbers.
    private static async Task Scenario(Results results, string name, BenchOptions options, TextWriter progress, Func<Task> run)
    {
        if (!options.Scenarios.Contains(name)) return;
        progress.WriteLine($"[{name}] running");
        try
        {
            await run();
        }
        catch (Exception ex) when (ex is HarnessException or RpcException or TimeoutException)
        {
            results.Failed[name] = ex.Message;
            progress.WriteLine($"[{name}] stopped: {ex.Message}");
        }
    }
}
