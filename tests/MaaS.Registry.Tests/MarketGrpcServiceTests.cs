using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.Market;
using MaaS.Registry.V1;
using MaaS.Testing;
using MassTransit.Testing;

namespace MaaS.Registry.Tests;

public sealed class MarketGrpcServiceTests : IAsyncLifetime
{
    private readonly MarketFixtureCatalog _catalog = new();
    private MarketHost _host = null!;

    public Task InitializeAsync()
    {
        _host = new MarketHost(_catalog.Directory);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _catalog.Dispose();
    }

    [Fact]
    public async Task SearchMarket_TextInAnyCase_FindsEntriesByNameTitleTagOrIntendedUse()
    {
        var byTag = await _host.Market.SearchMarketAsync(new SearchMarketRequest { Text = "two-moons" });
        var byTitle = await _host.Market.SearchMarketAsync(new SearchMarketRequest { Text = "SEED LINE" });
        var byUse = await _host.Market.SearchMarketAsync(new SearchMarketRequest { Text = "half circles" });
        var none = await _host.Market.SearchMarketAsync(new SearchMarketRequest { Text = "transformer" });

        Assert.Equal([MarketFixtureCatalog.Moons], byTag.Entries.Select(e => e.Name));
        Assert.Equal([MarketFixtureCatalog.Line], byTitle.Entries.Select(e => e.Name));
        Assert.Equal([MarketFixtureCatalog.Moons], byUse.Entries.Select(e => e.Name));
        Assert.Empty(none.Entries);
        Assert.Equal(0, none.TotalSize);
        var moons = byTag.Entries[0];
        Assert.Equal(MarketEntryKind.Model, moons.Kind);
        Assert.Equal("binary-classification", moons.Task);
        Assert.StartsWith("Tells the two interleaved half circles apart", moons.Summary);
    }

    [Fact]
    public async Task SearchMarket_FiltersByTaskTagAndKind_ReturnsOnlyMatchingEntries()
    {
        var regression = await _host.Market.SearchMarketAsync(new SearchMarketRequest { Task = "Regression" });
        var regressionModels = await _host.Market.SearchMarketAsync(new SearchMarketRequest { Task = "regression", Kind = MarketEntryKind.Model });
        var mlp = await _host.Market.SearchMarketAsync(new SearchMarketRequest { Tag = "MLP" });
        var templates = await _host.Market.SearchMarketAsync(new SearchMarketRequest { Kind = MarketEntryKind.Template });

        Assert.Equal([MarketFixtureCatalog.Line, MarketFixtureCatalog.LinearTemplate], regression.Entries.Select(e => e.Name));
        Assert.Equal([MarketFixtureCatalog.Line], regressionModels.Entries.Select(e => e.Name));
        Assert.Equal([MarketFixtureCatalog.MlpTemplate, MarketFixtureCatalog.Moons], mlp.Entries.Select(e => e.Name));
        Assert.Equal([MarketFixtureCatalog.LinearTemplate, MarketFixtureCatalog.MlpTemplate], templates.Entries.Select(e => e.Name));
        Assert.All(templates.Entries, e => Assert.Equal(MarketEntryKind.Template, e.Kind));
    }

    [Fact]
    public async Task SearchMarket_PagesOfThree_ReturnEveryEntryOnceInNameOrder()
    {
        var first = await _host.Market.SearchMarketAsync(new SearchMarketRequest { PageSize = 3 });
        var second = await _host.Market.SearchMarketAsync(new SearchMarketRequest { PageSize = 3, PageToken = first.NextPageToken });
        var all = await _host.SearchAllAsync(new SearchMarketRequest { PageSize = 1 });

        Assert.Equal(3, first.Entries.Count);
        Assert.Equal(4, first.TotalSize);
        Assert.NotEmpty(first.NextPageToken);
        Assert.Equal([MarketFixtureCatalog.Moons], second.Entries.Select(e => e.Name));
        Assert.Empty(second.NextPageToken);
        Assert.Equal([MarketFixtureCatalog.Line, MarketFixtureCatalog.LinearTemplate, MarketFixtureCatalog.MlpTemplate, MarketFixtureCatalog.Moons],
            all.Select(e => e.Name));
    }

    [Theory]
    [InlineData(501, "", "page_size must be between 0")]
    [InlineData(-1, "", "page_size must be between 0")]
    [InlineData(10, "not-a-token", "page_token must be empty or the next_page_token of a previous market page")]
    public async Task SearchMarket_BadPaging_InvalidArgumentNamingTheField(int pageSize, string token, string expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            _host.Market.SearchMarketAsync(new SearchMarketRequest { PageSize = pageSize, PageToken = token }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(expected, error.Status.Detail);
    }

    [Fact]
    public async Task GetMarketEntry_Model_ReturnsFullCardWithSignatureMetricsAndArtifactDigest()
    {
        var entry = (await _host.Market.GetMarketEntryAsync(new GetMarketEntryRequest { Name = MarketFixtureCatalog.Line })).Entry;

        var artifact = File.ReadAllBytes(_catalog.ArtifactPath(MarketFixtureCatalog.Line));
        Assert.Equal(MarketEntryKind.Model, entry.Kind);
        Assert.Equal("Seed line regressor", entry.Title);
        Assert.Equal(["regression", "linear", "tabular"], entry.Tags);
        Assert.Equal("MIT", entry.Licence);
        Assert.Equal("Only meaningful for x in [0, 2].", entry.Limits);
        Assert.Equal("Three points on the line y = 2x + 1.", entry.TrainingData);
        Assert.Equal(0.999, entry.Metrics["r2"]);
        Assert.Equal("0.05", entry.Hyperparameters["learning_rate"]);
        Assert.Equal("input", entry.Inputs[0].Name);
        Assert.Equal("FP32", entry.Inputs[0].Datatype);
        Assert.Equal([-1L, 1L], entry.Inputs[0].Shape);
        Assert.Equal("output", entry.Outputs[0].Name);
        Assert.Equal(RegistryHost.Sha256(artifact), entry.ArtifactDigest);
        Assert.Equal(artifact.Length, entry.ArtifactSize);
        Assert.Contains("\"intended_use\"", entry.CardJson);
    }

    [Fact]
    public async Task GetMarketEntry_Template_ReturnsDescriptionAndSpec()
    {
        var entry = (await _host.Market.GetMarketEntryAsync(new GetMarketEntryRequest { Name = MarketFixtureCatalog.MlpTemplate })).Entry;

        Assert.Equal(MarketEntryKind.Template, entry.Kind);
        Assert.Equal("multiclass-classification", entry.Task);
        Assert.StartsWith("A two-layer perceptron", entry.Description);
        Assert.Equal("mlp_classifier", entry.Spec["architecture"]);
        Assert.Equal("cross_entropy", entry.Spec["loss"]);
        Assert.Equal("adam", entry.Spec["optimizer"]);
        Assert.Equal("0.01", entry.Spec["learning_rate"]);
        Assert.Equal("[32,32]", entry.Spec["hidden_sizes"]);
        Assert.Contains("\"hidden_sizes\":[32,32]", entry.SpecJson);
        Assert.Empty(entry.ArtifactDigest);
    }

    [Fact]
    public async Task GetMarketEntry_UnknownName_NotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            _host.Market.GetMarketEntryAsync(new GetMarketEntryRequest { Name = "no-such-model" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("'no-such-model'", error.Status.Detail);
    }

    [Fact]
    public async Task GetMarketEntry_BadName_InvalidArgumentNamingName()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            _host.Market.GetMarketEntryAsync(new GetMarketEntryRequest { Name = "../etc" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("name must", error.Status.Detail);
    }

    [Fact]
    public async Task InstallMarketModel_WithoutDeploy_CreatesVersionOneWithTheCardsSignatureMetricsAndArtifact()
    {
        var response = await _host.Market.InstallMarketModelAsync(new InstallMarketModelRequest
        {
            EntryName = MarketFixtureCatalog.Line, ModelName = "my-line", Actor = "alice",
        });

        var artifact = File.ReadAllBytes(_catalog.ArtifactPath(MarketFixtureCatalog.Line));
        var version = (await _host.Registry.GetVersionAsync(new GetVersionRequest { ModelName = "my-line", Version = 1 })).Version;
        Assert.Equal(1, response.Version.Version);
        Assert.False(response.ProductionSet);
        Assert.False(response.DeploymentSet);
        Assert.Empty(response.Model.Aliases);
        Assert.Equal("regression", response.Model.Task);
        Assert.Equal(["linear", "regression", "tabular"], response.Model.Tags);
        Assert.Equal(VersionStatus.Ready, version.Status);
        Assert.Equal("input", version.Inputs[0].Name);
        Assert.Equal([-1L, 1L], version.Inputs[0].Shape);
        Assert.Equal("output", version.Outputs[0].Name);
        Assert.Equal(0.999, version.Metrics["r2"]);
        Assert.Equal("200", version.Hyperparameters["epochs"]);
        Assert.Equal("alice", version.CreatedBy);
        Assert.Equal("market:fixture-line", version.Lineage.TrainingJobId);
        Assert.Equal(RegistryHost.Sha256(System.Text.Encoding.UTF8.GetBytes(MarketFixtureCatalog.LineData)), version.Lineage.DatasetDigest);
        Assert.Contains("# Seed line regressor", version.ModelCard);
        Assert.Contains("Only meaningful for x in [0, 2].", version.ModelCard);
        Assert.Equal(RegistryHost.Sha256(artifact), version.ArtifactDigest);
        Assert.Equal(artifact, await _host.DownloadAsync("my-line", 1));
        Assert.True(await _host.Harness.Published.Any<ModelCreated>(m => m.Context.Message.ModelName == "my-line" && m.Context.Message.Owner == "alice"));
        Assert.True(await _host.Harness.Published.Any<ModelVersionRegistered>(m =>
            m.Context.Message.ModelName == "my-line" && m.Context.Message.Version == 1 && m.Context.Message.ArtifactDigest == version.ArtifactDigest));
    }

    [Fact]
    public async Task InstallMarketModel_WithDeploy_SetsProductionAndDeploymentInTheSameCall()
    {
        var response = await _host.Market.InstallMarketModelAsync(new InstallMarketModelRequest
        {
            EntryName = MarketFixtureCatalog.Moons, Deploy = true, Actor = "bob",
        });

        var serving = (await _host.Registry.GetVersionAsync(new GetVersionRequest { ModelName = MarketFixtureCatalog.Moons, Alias = "production" })).Version;
        var deployment = (await _host.Registry.GetDeploymentAsync(new GetDeploymentRequest { ModelName = MarketFixtureCatalog.Moons })).Deployment;
        Assert.True(response.ProductionSet);
        Assert.True(response.DeploymentSet);
        Assert.Equal(1, response.Model.Aliases["production"]);
        Assert.Equal(1, serving.Version);
        Assert.Equal("binary-classification", response.Model.Task);
        var target = Assert.Single(deployment.Entries);
        Assert.Equal((1L, "default", 100), (target.Version, target.Pool, target.Weight));
        Assert.Equal(deployment.Revision, response.Deployment.Revision);
        Assert.Equal(RegistryHost.Sha256(File.ReadAllBytes(_catalog.ArtifactPath(MarketFixtureCatalog.Moons))),
            RegistryHost.Sha256(await _host.DownloadAsync(MarketFixtureCatalog.Moons, 1)));
        Assert.True(await _host.Harness.Published.Any<AliasMoved>(m =>
            m.Context.Message.ModelName == MarketFixtureCatalog.Moons && m.Context.Message.Alias == "production"
            && m.Context.Message.FromVersion == 0 && m.Context.Message.ToVersion == 1 && m.Context.Message.Actor == "bob"));
        Assert.True(await _host.Harness.Published.Any<DeploymentChanged>(m =>
            m.Context.Message.ModelName == MarketFixtureCatalog.Moons && m.Context.Message.Entries.Count == 1
            && m.Context.Message.Entries[0].Version == 1 && m.Context.Message.Entries[0].Weight == 100));
    }

    [Fact]
    public async Task InstallMarketModel_ExistingModelWithoutVersions_InstallsAsVersionOne()
    {
        await _host.Registry.CreateModelAsync(new CreateModelRequest { Name = "empty-model", Task = "regression" });

        var response = await _host.Market.InstallMarketModelAsync(new InstallMarketModelRequest
        {
            EntryName = MarketFixtureCatalog.Line, ModelName = "empty-model",
        });

        Assert.Equal(1, response.Version.Version);
        Assert.Equal("market", response.Version.CreatedBy);
    }

    [Fact]
    public async Task InstallMarketModel_SameEntryAgainAfterAStoppedInstall_FinishesItWithoutASecondVersion()
    {
        // Version 1 registered, production and deployment never set: what an install that stopped part-way leaves.
        await _host.Market.InstallMarketModelAsync(new InstallMarketModelRequest { EntryName = MarketFixtureCatalog.Line, ModelName = "resumed" });

        var response = await _host.Market.InstallMarketModelAsync(new InstallMarketModelRequest
        {
            EntryName = MarketFixtureCatalog.Line, ModelName = "resumed", Deploy = true,
        });

        Assert.Equal(1, response.Version.Version);
        Assert.True(response.ProductionSet);
        Assert.Equal(1, response.Model.Aliases["production"]);
        Assert.Equal((1L, 100), (Assert.Single(response.Deployment.Entries).Version, response.Deployment.Entries[0].Weight));
        Assert.Single((await _host.Registry.ListVersionsAsync(new ListVersionsRequest { ModelName = "resumed" })).Versions);
    }

    [Fact]
    public async Task InstallMarketModel_SameEntryAgainAfterAFullInstall_SameAnswerAndNoNewEvents()
    {
        var request = new InstallMarketModelRequest { EntryName = MarketFixtureCatalog.Line, ModelName = "twice", Deploy = true };
        var first = await _host.Market.InstallMarketModelAsync(request);

        var again = await _host.Market.InstallMarketModelAsync(request);

        Assert.Equal(first.Version.Version, again.Version.Version);
        Assert.Equal(first.Deployment.Revision, again.Deployment.Revision);
        Assert.Single((await _host.Registry.GetAliasHistoryAsync(new GetAliasHistoryRequest { ModelName = "twice", Alias = "production" })).Entries);
        Assert.Single((await _host.Registry.GetDeploymentHistoryAsync(new GetDeploymentHistoryRequest { ModelName = "twice" })).Deployments);
        Assert.Single((await _host.Registry.ListVersionsAsync(new ListVersionsRequest { ModelName = "twice" })).Versions);
    }

    [Fact]
    public async Task InstallMarketModel_ModelWithVersions_FailedPreconditionNamingTheModel()
    {
        await _host.Market.InstallMarketModelAsync(new InstallMarketModelRequest { EntryName = MarketFixtureCatalog.Line, ModelName = "taken" });

        var error = await Assert.ThrowsAsync<RpcException>(() => _host.Market.InstallMarketModelAsync(
            new InstallMarketModelRequest { EntryName = MarketFixtureCatalog.Moons, ModelName = "taken" }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("Model 'taken' already has versions", error.Status.Detail);
        var versions = (await _host.Registry.ListVersionsAsync(new ListVersionsRequest { ModelName = "taken" })).Versions;
        Assert.Single(versions);
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("a..b")]
    [InlineData("with/slash")]
    public async Task InstallMarketModel_BadModelName_InvalidArgumentNamingModelName(string name)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _host.Market.InstallMarketModelAsync(
            new InstallMarketModelRequest { EntryName = MarketFixtureCatalog.Line, ModelName = name }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("model_name must", error.Status.Detail);
    }

    [Fact]
    public async Task InstallMarketModel_UnknownEntry_NotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _host.Market.InstallMarketModelAsync(
            new InstallMarketModelRequest { EntryName = "no-such-entry" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("'no-such-entry'", error.Status.Detail);
    }

    [Fact]
    public async Task InstallMarketModel_Template_FailedPreconditionSayingTemplatesAreTrained()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _host.Market.InstallMarketModelAsync(
            new InstallMarketModelRequest { EntryName = MarketFixtureCatalog.LinearTemplate, ModelName = "lr" }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("templates are trained, not installed: submit a training job with its spec", error.Status.Detail);
        var notCreated = await Assert.ThrowsAsync<RpcException>(() => _host.Registry.GetModelAsync(new GetModelRequest { Name = "lr" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notCreated.StatusCode);
    }

    [Fact]
    public async Task InstallMarketModel_ShippedSeedLineWithDeploy_ServesPredictionsOfTheLine()
    {
        // The catalog shipped next to the registry's binaries (no Market:CatalogDirectory).
        await using var shipped = new MarketHost(catalogDirectory: null);
        var models = await shipped.SearchAllAsync(new SearchMarketRequest { Kind = MarketEntryKind.Model });
        var templates = await shipped.SearchAllAsync(new SearchMarketRequest { Kind = MarketEntryKind.Template });

        var installed = await shipped.Market.InstallMarketModelAsync(new InstallMarketModelRequest
        {
            EntryName = "seed-line", ModelName = "line", Deploy = true, Actor = "tests",
        });

        Assert.True(models.Count >= 3, $"at least three ready models; found {models.Count}");
        Assert.True(templates.Count >= 4, $"at least four templates; found {templates.Count}");
        Assert.Equal(1, installed.Model.Aliases["production"]);
        var artifact = await shipped.DownloadAsync("line", 1);
        var factory = new MaaS.Onnx.OnnxSessionFactory(
            Microsoft.Extensions.Options.Options.Create(new MaaS.Onnx.OnnxRuntimeOptions()),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<MaaS.Onnx.OnnxSessionFactory>.Instance);
        using var session = factory.Create(artifact);
        var predictions = MaaS.Onnx.DenseModelRunner.Predict(session.Session, [0f, 2f], rows: 2, columns: 1);
        Assert.Equal(1.0, predictions[0], 0.2);
        Assert.Equal(5.0, predictions[1], 0.2);
    }

    [Fact]
    public async Task Start_CatalogWithBrokenCard_FailsNamingTheFileAndField()
    {
        using var broken = new MarketFixtureCatalog();
        broken.Edit(broken.CardPath(MarketFixtureCatalog.Moons), card => card["outputs"] = new System.Text.Json.Nodes.JsonArray());

        var output = await StartupRefusal.RunAsync("services/MaaS.Registry", new Dictionary<string, string> { ["Market:CatalogDirectory"] = broken.Directory });

        Assert.Contains(nameof(MarketCatalogException), output);
        Assert.Contains(broken.CardPath(MarketFixtureCatalog.Moons), output);
        Assert.Contains("field 'outputs' must be a non-empty array", output);
    }

    [Fact]
    public async Task Start_ConfiguredCatalogMissing_FailsNamingTheSetting()
    {
        var output = await StartupRefusal.RunAsync("services/MaaS.Registry",
            new Dictionary<string, string> { ["Market:CatalogDirectory"] = Path.Combine(_catalog.Directory, "nowhere") });

        Assert.Contains("Market:CatalogDirectory", output);
    }
}
