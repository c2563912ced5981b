using System.Text.Json;
using MaaS.Contracts;
using MaaS.Updater.V1;

namespace MaaS.Updater.Tests.Support;

/// <summary>Steps the tests share: policies, batches of rows on a line, reading events back.</summary>
public static class Scenario
{
    /// <summary>Sets a policy for "m" (row rule off unless changed).</summary>
    public static async Task SetPolicy(this UpdaterHost host, Action<Policy>? change = null)
    {
        var policy = new Policy { ModelName = "m", RetrainAfterRows = 0, HoldoutFraction = 0.2 };
        change?.Invoke(policy);
        await host.Client.SetPolicyAsync(new SetPolicyRequest { Policy = policy });
    }

    /// <summary>Ingests rows (x, a·x + b) for x in [from, from + count).</summary>
    public static async Task<IngestReport> IngestLine(this UpdaterHost host, int from, int count, double a = 2, double b = 1, bool feedback = false)
    {
        var request = new IngestRowsRequest { ModelName = "m", Columns = { "x", "y" }, Feedback = feedback };
        for (var i = from; i < from + count; i++)
        {
            var row = new Row();
            row.Values.Add([i, a * i + b]);
            request.Rows.Add(row);
        }
        return (await host.Client.IngestRowsAsync(request)).Report;
    }

    /// <summary>The events of a type in the outbox, oldest first.</summary>
    public static List<T> Events<T>(this UpdaterHost host) where T : MeshMessage =>
        host.Outbox().Where(m => m.Type == typeof(T).FullName).Select(m => JsonSerializer.Deserialize<T>(m.Payload)!).ToList();

    /// <summary>The model's timeline.</summary>
    public static async Task<List<TimelineEntry>> Timeline(this UpdaterHost host, string model = "m") =>
        [.. (await host.Client.ExplainModelAsync(new ExplainModelRequest { ModelName = model })).Entries];

    /// <summary>Waits (up to a minute) until <paramref name="done"/> holds; for work the bus does on its own threads.</summary>
    public static async Task Eventually(Func<Task<bool>> done)
    {
        var until = DateTime.UtcNow.AddMinutes(1);
        while (!await done())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("The condition did not hold within a minute.");
            await Task.Delay(50);
        }
    }
}
