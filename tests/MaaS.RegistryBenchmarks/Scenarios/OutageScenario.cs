using System.Collections.Concurrent;
using System.Diagnostics;
using MaaS.Contracts;
using MaaS.RegistryBenchmarks.Hosting;
using MaaS.RegistryBenchmarks.Reporting;
using MassTransit;

namespace MaaS.RegistryBenchmarks.Scenarios;

/// <summary>What the outage scenario saw.</summary>
public sealed class OutageResults
{
    /// <summary>Versions registered before, during and after the outage.</summary>
    public int Before { get; set; }

    /// <summary>Versions registered while the broker was stopped.</summary>
    public int During { get; set; }

    /// <summary>Versions registered after it was back.</summary>
    public int After { get; set; }

    /// <summary>Seconds the broker was really down (stop returned → start returned).</summary>
    public double DownSeconds { get; set; }

    /// <summary>Deliveries of ModelVersionRegistered to the consumer, duplicates included.</summary>
    public int Deliveries { get; set; }

    /// <summary>Distinct event ids delivered.</summary>
    public int DistinctEvents { get; set; }

    /// <summary>Deliveries of an event id already seen.</summary>
    public int Duplicates { get; set; }

    /// <summary>Registered versions whose event never arrived.</summary>
    public int Missing { get; set; }

    /// <summary>First deliveries that came before an event registered earlier.</summary>
    public int OutOfOrder { get; set; }

    /// <summary>Seconds from the broker's return until the last event held back by the outage had arrived.</summary>
    public double CatchUpSeconds { get; set; }

    /// <summary>Registry log lines in which the dispatcher said it backed off.</summary>
    public int BackoffLogLines { get; set; }

    /// <summary>Every check held.</summary>
    public bool Passed => Missing == 0 && OutOfOrder == 0 && Duplicates == 0 && DistinctEvents == Before + During + After;
}

/// <summary>
/// Events across a broker outage: a private RabbitMQ, a consumer in this process (a MassTransit receive
/// endpoint bound to the registry's ModelVersionRegistered, one message at a time so arrival order is
/// the queue's order), and a registry on SQLite publishing through its outbox. Versions are registered
/// one after the other (so outbox order = registration order) before, during and after a stop of the
/// broker; afterwards every version must have its event, once, in registration order.
/// </summary>
public static class OutageScenario
{
    private const string QueueName = "registry-benchmark-events";
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan Steady = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CatchUpLimit = TimeSpan.FromMinutes(3);

    /// <summary>Runs the outage; the registry is started here, on SQLite, with the RabbitMQ transport.</summary>
    public static async Task<OutageResults> RunAsync(BenchOptions o, string work, Ports ports, TextWriter progress)
    {
        var folder = Path.Combine(work, "outage");
        Directory.CreateDirectory(folder);
        var broker = InfraScript.RabbitMq(o.RepoRoot, ports.RabbitMq, ports.RabbitDist, ports.RabbitEpmd, Path.Combine(folder, "rabbitmq"), progress);
        progress.WriteLine($"[outage] starting RabbitMQ on 127.0.0.1:{ports.RabbitMq}");
        await broker.StartAsync();
        IBusControl? bus = null;
        try
        {
            var seen = new ConcurrentDictionary<Guid, int>();
            var arrivals = new ConcurrentQueue<(Guid EventId, string Model, long Version, long At)>();
            bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
            {
                cfg.Host("127.0.0.1", (ushort)ports.RabbitMq, "/", h =>
                {
                    h.Username("guest");
                    h.Password("guest");
                });
                cfg.ReceiveEndpoint(QueueName, e =>
                {
                    // One message at a time: the order the handler sees is the order the queue holds.
                    e.PrefetchCount = 1;
                    e.ConcurrentMessageLimit = 1;
                    e.Handler<ModelVersionRegistered>(ctx =>
                    {
                        seen.AddOrUpdate(ctx.Message.EventId, 1, (_, n) => n + 1);
                        arrivals.Enqueue((ctx.Message.EventId, ctx.Message.ModelName, ctx.Message.Version, Stopwatch.GetTimestamp()));
                        return Task.CompletedTask;
                    });
                });
            });
            using (var startTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                await bus.StartAsync(startTimeout.Token);
            }

            var bindings = new[]
            {
                "--Bus:Transport=RabbitMq", "--Bus:Host=127.0.0.1", $"--Bus:Port={ports.RabbitMq}",
            };
            await using var registry = await RegistryHost.StartAsync(o, "sqlite", work, ports, bindings, progress, "outage-registry");
            var client = registry.Client;
            const int models = 10;
            for (var m = 0; m < models; m++) await Workload.CreateModelAsync(client, m, $"outage-model-{m}");

            var registered = new List<(string Model, long Version)>();
            var results = new OutageResults();
            var seed = 0L;
            async Task RegisterForAsync(TimeSpan duration, Action count)
            {
                var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
                while (Stopwatch.GetTimestamp() < until)
                {
                    var model = $"outage-model-{seed % models}";
                    var (bytes, digest) = Workload.Artifact(1_000_000_000 + seed, 1024);
                    var version = await Workload.RegisterAsync(client, Workload.Manifest(model, digest, seed), bytes);
                    registered.Add((model, version.Version));
                    count();
                    seed++;
                    await Task.Delay(Pace);
                }
            }

            progress.WriteLine("[outage] registering with the broker up");
            await RegisterForAsync(Steady, () => results.Before++);
            progress.WriteLine($"[outage] stopping the broker for {o.OutageSeconds} s while registering");
            await broker.StopAsync();
            var down = Stopwatch.StartNew();
            await RegisterForAsync(TimeSpan.FromSeconds(o.OutageSeconds), () => results.During++);
            progress.WriteLine("[outage] starting the broker again");
            await broker.StartAsync();
            results.DownSeconds = down.Elapsed.TotalSeconds;
            var back = Stopwatch.GetTimestamp();
            await RegisterForAsync(Steady, () => results.After++);

            var expected = registered.ToHashSet();
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < CatchUpLimit && !expected.IsSubsetOf(arrivals.Select(a => (a.Model, a.Version))))
            {
                await Task.Delay(250);
            }
            // A duplicate would come after the original; give late ones a moment to show up.
            await Task.Delay(TimeSpan.FromSeconds(3));

            var all = arrivals.ToArray();
            results.Deliveries = all.Length;
            results.DistinctEvents = seen.Count;
            results.Duplicates = seen.Values.Sum(n => n - 1);
            var firstArrivals = all.DistinctBy(a => a.EventId).ToList();
            var arrived = firstArrivals.Select(a => (a.Model, a.Version)).ToHashSet();
            results.Missing = expected.Count(e => !arrived.Contains(e));
            var position = registered.Select((r, index) => (r, index)).ToDictionary(x => x.r, x => x.index);
            var highest = -1;
            foreach (var a in firstArrivals)
            {
                if (!position.TryGetValue((a.Model, a.Version), out var p)) continue;
                if (p < highest) results.OutOfOrder++;
                highest = Math.Max(highest, p);
            }
            // Catch-up: until the last event of a version registered before the broker came back had arrived.
            var heldBack = registered.Take(results.Before + results.During).ToHashSet();
            var lastAt = firstArrivals.Where(a => heldBack.Contains((a.Model, a.Version))).Select(a => a.At).DefaultIfEmpty(back).Max();
            results.CatchUpSeconds = Math.Max(0, (lastAt - back) / (double)Stopwatch.Frequency);
            results.BackoffLogLines = registry.Process.LogLines("Publishing the outbox failed").Count;
            return results;
        }
        finally
        {
            if (bus is not null) await bus.StopAsync(CancellationToken.None);
            await broker.StopQuietlyAsync();
        }
    }
}
