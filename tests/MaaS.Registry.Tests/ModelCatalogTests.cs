using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.Tests.Stores;
using MaaS.Registry.V1;

namespace MaaS.Registry.Tests;

/// <summary>Runs on every metadata store: <see cref="OnSqlite"/> and <see cref="OnPostgres"/> (a real PostgreSQL server).</summary>
public abstract class ModelCatalogTests(RegistryStore store)
{
    [Fact]
    public async Task CreateModel_OwnerAndTags_StoredSortedAndModelCreatedWritten()
    {
        await using var host = new RegistryHost(store);

        var created = (await host.Client.CreateModelAsync(new CreateModelRequest
        {
            Name = "fraud", Description = "Flags card fraud", Task = "classification", Owner = "risk-team", Tags = { "tabular", "finance" },
        })).Model;
        var fetched = (await host.Client.GetModelAsync(new GetModelRequest { Name = "fraud" })).Model;

        Assert.Equal(["finance", "tabular"], created.Tags);
        Assert.Equal("risk-team", created.Owner);
        Assert.Equal(created, fetched);
        var evt = Assert.Single(host.OutboxEvents<ModelCreated>());
        Assert.Equal("fraud", evt.ModelName);
        Assert.Equal("risk-team", evt.Owner);
        Assert.Equal("classification", evt.Task);
        Assert.Equal(["finance", "tabular"], evt.Tags);
        Assert.Equal(1, evt.SchemaVersion);
        Assert.NotEqual(Guid.Empty, evt.EventId);
    }

    [Fact]
    public async Task CreateModel_IfAbsentOnExisting_ReturnsItUnchangedWithoutSecondEvent()
    {
        await using var host = new RegistryHost(store);
        await host.Client.CreateModelAsync(new CreateModelRequest { Name = "fraud", Owner = "risk-team", Tags = { "finance" } });

        var again = (await host.Client.CreateModelAsync(new CreateModelRequest
        {
            Name = "fraud", Owner = "someone-else", Tags = { "other" }, IfAbsent = true,
        })).Model;

        Assert.Equal("risk-team", again.Owner);
        Assert.Equal(["finance"], again.Tags);
        Assert.Single(host.OutboxEvents<ModelCreated>());
    }

    [Fact]
    public async Task GetModel_Unknown_NotFound()
    {
        await using var host = new RegistryHost(store);

        await Expect.Status(StatusCode.NotFound, () => host.Client.GetModelAsync(new GetModelRequest { Name = "ghost" }).ResponseAsync,
            "Model 'ghost' does not exist");
    }

    [Theory]
    [InlineData("fraud", "", "", "", "fraud-a,fraud-b")]
    [InlineData("", "finance", "", "", "fraud-a,fraud-b")]
    [InlineData("", "", "regression", "", "fraud-b,house")]
    [InlineData("", "", "", "production", "fraud-b")]
    [InlineData("fraud", "", "regression", "", "fraud-b")]
    [InlineData("h", "real-estate", "regression", "", "house")]
    [InlineData("", "vision", "", "", "")]
    [InlineData("", "", "", "", "fraud-a,fraud-b,house")]
    public async Task ListModels_Filters_ReturnOnlyMatchingModelsByName(string prefix, string tag, string task, string alias, string expected)
    {
        await using var host = new RegistryHost(store);
        await SeedCatalogAsync(host);

        var listed = await host.Client.ListModelsAsync(new ListModelsRequest { NamePrefix = prefix, Tag = tag, Task = task, Alias = alias });

        Assert.Equal(expected, string.Join(",", listed.Models.Select(m => m.Name)));
        Assert.Equal("", listed.NextPageToken);
    }

    [Fact]
    public async Task ListModels_MatchingModel_CarriesAliasesTagsAndLatestVersion()
    {
        await using var host = new RegistryHost(store);
        await SeedCatalogAsync(host);

        var model = Assert.Single((await host.Client.ListModelsAsync(new ListModelsRequest { Alias = "production" })).Models);

        Assert.Equal("fraud-b", model.Name);
        Assert.Equal(1, model.Aliases["production"]);
        Assert.Equal(["finance"], model.Tags);
        Assert.Equal(1, model.LatestVersion);
    }

    [Theory]
    [InlineData("house", "house")]
    [InlineData("PRICES", "house")]
    [InlineData("fraud", "fraud-a,fraud-b")]
    [InlineData("card", "fraud-a")]
    [InlineData("nothing-like-this", "")]
    public async Task SearchModels_Text_MatchesNameOrDescriptionIgnoringCase(string query, string expected)
    {
        await using var host = new RegistryHost(store);
        await SeedCatalogAsync(host);

        var found = await host.Client.SearchModelsAsync(new SearchModelsRequest { Query = query });

        Assert.Equal(expected, string.Join(",", found.Models.Select(m => m.Name)));
    }

    [Fact]
    public async Task SearchModels_TextAndFilters_Combine()
    {
        await using var host = new RegistryHost(store);
        await SeedCatalogAsync(host);

        var found = await host.Client.SearchModelsAsync(new SearchModelsRequest { Query = "fraud", Task = "regression" });

        Assert.Equal(["fraud-b"], found.Models.Select(m => m.Name));
    }

    [Fact]
    public async Task ListModels_PagedWhileModelsAreAdded_EveryExistingModelOnceInNameOrder()
    {
        await using var host = new RegistryHost(store);
        var originals = Enumerable.Range(0, 25).Select(i => $"m-{i * 2:000}").ToList();
        foreach (var name in originals)
        {
            await host.CreateModelAsync(name);
        }

        var seen = new List<string>();
        var token = "";
        var pages = 0;
        do
        {
            var page = await host.Client.ListModelsAsync(new ListModelsRequest { PageSize = 7, PageToken = token });
            seen.AddRange(page.Models.Select(m => m.Name));
            token = page.NextPageToken;
            pages++;
            // Between pages others add models both behind the cursor and ahead of it.
            await host.CreateModelAsync($"m-{pages * 2 - 1:000}");
            await host.CreateModelAsync($"m-{90 + pages:000}");
        }
        while (token.Length > 0);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        Assert.All(originals, name => Assert.Contains(name, seen));
        Assert.Contains("m-091", seen); // added ahead of the cursor, so the walk reaches it
        Assert.DoesNotContain("m-001", seen); // added behind the cursor after the first page
    }

    [Fact]
    public async Task ListModels_FullPageOfExactSize_LastPageEmptyWithoutToken()
    {
        await using var host = new RegistryHost(store);
        for (var i = 0; i < 4; i++)
        {
            await host.CreateModelAsync($"m-{i}");
        }

        var first = await host.Client.ListModelsAsync(new ListModelsRequest { PageSize = 2 });
        var second = await host.Client.ListModelsAsync(new ListModelsRequest { PageSize = 2, PageToken = first.NextPageToken });

        Assert.Equal(["m-0", "m-1"], first.Models.Select(m => m.Name));
        Assert.Equal(["m-2", "m-3"], second.Models.Select(m => m.Name));
        Assert.Equal("", second.NextPageToken);
    }

    [Fact]
    public async Task ListModels_TokenOfAnotherListing_InvalidArgument()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 3);
        var versionsToken = (await host.Client.ListVersionsAsync(new ListVersionsRequest { ModelName = "linear", PageSize = 1 })).NextPageToken;

        await Expect.Status(StatusCode.InvalidArgument,
            () => host.Client.ListModelsAsync(new ListModelsRequest { PageToken = versionsToken }).ResponseAsync,
            "page_token must be empty or the next_page_token of a previous models page");
    }

    /// <summary>fraud-a (classification, finance), fraud-b (regression, finance, production → 1), house (regression, real-estate).</summary>
    private static async Task SeedCatalogAsync(RegistryHost host)
    {
        await host.Client.CreateModelAsync(new CreateModelRequest
        {
            Name = "fraud-a", Description = "Flags card fraud", Task = "classification", Tags = { "finance" },
        });
        await host.Client.CreateModelAsync(new CreateModelRequest
        {
            Name = "fraud-b", Description = "Fraud loss estimate", Task = "regression", Tags = { "finance" },
        });
        await host.Client.CreateModelAsync(new CreateModelRequest
        {
            Name = "house", Description = "Predicts house prices", Task = "regression", Tags = { "real-estate" },
        });
        await host.RegisterAsync("fraud-b", RegistryHost.Bytes(32, seed: 1));
        await host.SetAliasAsync("fraud-b", "production", 1);
    }

    /// <summary>On SQLite.</summary>
    public sealed class OnSqlite() : ModelCatalogTests(RegistryStore.Sqlite);

    /// <summary>On PostgreSQL.</summary>
    [Collection(PostgresCollection.Name)]
    public sealed class OnPostgres(PostgresServer server) : ModelCatalogTests(server);
}
