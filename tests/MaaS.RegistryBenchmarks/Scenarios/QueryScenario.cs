using System.Diagnostics;
using MaaS.Registry.V1;
using MaaS.RegistryBenchmarks.Reporting;

namespace MaaS.RegistryBenchmarks.Scenarios;

/// <summary>
/// Read latency on the populated registry: each query kind is called by one caller, one call after the
/// other, warm-up calls first, then the measured ones; arguments (pages, prefixes, models) vary from
/// call to call with a fixed seed so both stores answer the same sequence.
/// </summary>
public static class QueryScenario
{
    /// <summary>One kind of query: a name for the table, what it asks, and a call that takes a random source.</summary>
    private sealed record Query(string Kind, string Description, Func<Random, Task> Call)
    {
        /// <summary>Whether issue 4's list/search p99 target applies (every listing and search; not single gets).</summary>
        public bool Target => Kind.StartsWith("List", StringComparison.Ordinal) || Kind.StartsWith("Search", StringComparison.Ordinal);
    }

    /// <summary>Measures every query kind.</summary>
    public static async Task RunAsync(ScenarioContext context)
    {
        var (o, client, results) = (context.Options, context.Registry.Client, context.Results);
        foreach (var query in Queries(client, o))
        {
            context.Progress.WriteLine($"[{results.Store}] query {query.Kind}: {o.WarmupCalls} warm-up + {o.Calls} measured calls");
            var random = new Random(42);
            for (var k = 0; k < o.WarmupCalls; k++) await query.Call(random);
            var calls = new Latencies();
            for (var k = 0; k < o.Calls; k++)
            {
                var started = Stopwatch.GetTimestamp();
                await query.Call(random);
                calls.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            results.Queries.Add((query.Kind, query.Description, query.Target, calls));
        }
    }

    private const int PageSize = 50;

    private static IEnumerable<Query> Queries(RegistryService.RegistryServiceClient client, BenchOptions o)
    {
        // Tokens of every page of the plain listing, so a call can start anywhere (as a client paging on would).
        var tokens = new List<string> { "" };
        yield return new Query("ListModels page", $"a page of {PageSize} models at a random position (its page token)",
            async random =>
            {
                if (tokens.Count == 1) await CollectTokensAsync(client, tokens);
                await client.ListModelsAsync(new ListModelsRequest { PageSize = PageSize, PageToken = tokens[random.Next(tokens.Count)] });
            });
        yield return new Query("ListModels prefix", $"first page ({PageSize}) of names starting with a team prefix (1/10 of the models)",
            async random => await client.ListModelsAsync(new ListModelsRequest
            {
                PageSize = PageSize, NamePrefix = Workload.Teams[random.Next(Workload.Teams.Length)] + "-",
            }));
        yield return new Query("ListModels tag", $"first page ({PageSize}) of models with a team tag (1/10)",
            async random => await client.ListModelsAsync(new ListModelsRequest
            {
                PageSize = PageSize, Tag = "team-" + Workload.Teams[random.Next(Workload.Teams.Length)],
            }));
        yield return new Query("ListModels task", $"first page ({PageSize}) of models of a task (1/4)",
            async random => await client.ListModelsAsync(new ListModelsRequest
            {
                PageSize = PageSize, Task = Workload.Tasks[random.Next(Workload.Tasks.Length)],
            }));
        yield return new Query("ListModels alias", $"first page ({PageSize}) of models with alias '{Workload.Alias}' (1/5)",
            async _ => await client.ListModelsAsync(new ListModelsRequest { PageSize = PageSize, Alias = Workload.Alias }));
        yield return new Query("SearchModels text", $"first page ({PageSize}) of models whose name or description holds 'model <n>' (~1 %)",
            async random => await client.SearchModelsAsync(new SearchModelsRequest
            {
                PageSize = PageSize, Query = "model " + random.Next(Math.Max(1, o.Models / 10)).ToString(System.Globalization.CultureInfo.InvariantCulture),
            }));
        yield return new Query("SearchModels text+tag+task", "text 'benchmark' with a tier tag and a task (~1/12)",
            async random => await client.SearchModelsAsync(new SearchModelsRequest
            {
                PageSize = PageSize, Query = "benchmark", Tag = "tier-" + random.Next(3), Task = Workload.Tasks[random.Next(Workload.Tasks.Length)],
            }));
        yield return new Query("ListVersions", $"the {o.VersionsPerModel} versions of a random model",
            async random => await client.ListVersionsAsync(new ListVersionsRequest { ModelName = Workload.ModelName(random.Next(o.Models)) }));
        yield return new Query("GetVersion", "one version of a random model, with its model card",
            async random => await client.GetVersionAsync(new GetVersionRequest
            {
                ModelName = Workload.ModelName(random.Next(o.Models)),
                Version = 1 + random.Next(o.VersionsPerModel),
            }));
    }

    private static async Task CollectTokensAsync(RegistryService.RegistryServiceClient client, List<string> tokens)
    {
        var token = "";
        while (true)
        {
            var page = await client.ListModelsAsync(new ListModelsRequest { PageSize = PageSize, PageToken = token });
            if (page.NextPageToken.Length == 0) return;
            tokens.Add(token = page.NextPageToken);
        }
    }
}
