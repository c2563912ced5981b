using System.Globalization;
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
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            if (ex.Message.Length > 0) Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(BenchOptions.Usage);
            return 2;
        }

        // Ctrl-C must not leave a trainer running (the broker is stopped by its script on the normal way out).
        Console.CancelKeyPress += (_, _) => ServiceProcess.KillAll();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ServiceProcess.KillAll();

        var progress = Console.Error;
        var work = Path.Combine(Path.GetTempPath(), "maas-trainer-bench-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Environment.ProcessId);
        Directory.CreateDirectory(work);
        progress.WriteLine($"work folder {work}");
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
        catch (BenchmarkException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine($"logs are in {work}");
            return 1;
        }

        var document = Report.Write(options, results);
        Console.Out.Write(document);
        if (options.Out is not null)
        {
            var path = Path.GetFullPath(options.Out);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, document);
            progress.WriteLine($"wrote {path}");
        }
        var ok = results.Failed.Count == 0;
        if (ok && !options.Keep)
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                progress.WriteLine($"could not delete {work}: {ex.Message}");
            }
        }
        else
        {
            progress.WriteLine($"data and logs kept in {work}");
        }
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
        catch (Exception ex) when (ex is BenchmarkException or RpcException or MassTransit.MassTransitException or TimeoutException)
        {
            results.Failed[name] = ex.Message;
            progress.WriteLine($"[{name}] stopped: {ex.Message}");
        }
    }
}
