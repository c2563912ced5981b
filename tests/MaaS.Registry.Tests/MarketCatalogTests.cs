using System.Text.Json.Nodes;
using MaaS.Registry.Market;
using MaaS.Registry.V1;

namespace MaaS.Registry.Tests;

public sealed class MarketCatalogTests : IDisposable
{
    private readonly MarketFixtureCatalog _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public void Load_FixtureCatalog_FindsModelsAndTemplatesWithDigests()
    {
        var catalog = MarketCatalog.Load(_fixture.Directory);

        Assert.Equal([MarketFixtureCatalog.Line, MarketFixtureCatalog.LinearTemplate, MarketFixtureCatalog.MlpTemplate, MarketFixtureCatalog.Moons],
            catalog.Entries.Select(e => e.Name));
        var line = catalog.Find(MarketFixtureCatalog.Line)!;
        Assert.Equal(RegistryHost.Sha256(File.ReadAllBytes(_fixture.ArtifactPath(MarketFixtureCatalog.Line))), line.Card.ArtifactDigest);
        Assert.Equal(RegistryHost.Sha256(System.Text.Encoding.UTF8.GetBytes(MarketFixtureCatalog.LineData)), line.DataDigest);
        Assert.Equal("[]", line.Card.Hyperparameters["hidden_sizes"]);
        Assert.Equal("200", line.Card.Hyperparameters["epochs"]);
        Assert.Null(catalog.Find(MarketFixtureCatalog.Moons)!.DataPath);
    }

    public static TheoryData<string, string, string> BrokenCards => new()
    {
        // entry, field to break ("-" = remove), what the message must name
        { MarketFixtureCatalog.Line, "title", "field 'title' is missing" },
        { MarketFixtureCatalog.Line, "licence", "field 'licence' is missing" },
        { MarketFixtureCatalog.Line, "name", "field 'name' is missing" },
        { MarketFixtureCatalog.Moons, "metrics", "field 'metrics' is missing" },
        { MarketFixtureCatalog.Moons, "inputs", "field 'inputs' is missing" },
    };

    [Theory]
    [MemberData(nameof(BrokenCards))]
    public void Load_CardMissingField_ThrowsNamingFileAndField(string entry, string field, string expected)
    {
        _fixture.Edit(_fixture.CardPath(entry), card => card.Remove(field));

        var error = Assert.Throws<MarketCatalogException>(() => MarketCatalog.Load(_fixture.Directory));

        Assert.Contains(_fixture.CardPath(entry), error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Load_UnknownDatatype_ThrowsNamingTheTensorField()
    {
        _fixture.Edit(_fixture.CardPath(MarketFixtureCatalog.Line), card => card["inputs"]![0]!["datatype"] = "FLOAT");

        var error = Assert.Throws<MarketCatalogException>(() => MarketCatalog.Load(_fixture.Directory));

        Assert.Contains(_fixture.CardPath(MarketFixtureCatalog.Line), error.Message);
        Assert.Contains("inputs[0].datatype must be one of", error.Message);
    }

    [Fact]
    public void Load_InputNameNotInTheOnnxGraph_ThrowsNamingInputs()
    {
        _fixture.Edit(_fixture.CardPath(MarketFixtureCatalog.Moons), card => card["inputs"]![0]!["name"] = "features");

        var error = Assert.Throws<MarketCatalogException>(() => MarketCatalog.Load(_fixture.Directory));

        Assert.Contains("field 'inputs' must name the inputs of model.onnx, [input]; it names [features]", error.Message);
    }

    [Fact]
    public void Load_NameDiffersFromFolder_ThrowsNamingName()
    {
        _fixture.Edit(_fixture.CardPath(MarketFixtureCatalog.Line), card => card["name"] = "other-line");

        var error = Assert.Throws<MarketCatalogException>(() => MarketCatalog.Load(_fixture.Directory));

        Assert.Contains($"field 'name' must equal '{MarketFixtureCatalog.Line}'", error.Message);
    }

    [Fact]
    public void Load_NonFiniteMetric_ThrowsNamingTheMetric()
    {
        _fixture.Edit(_fixture.CardPath(MarketFixtureCatalog.Line), card => card["metrics"]!["r2"] = "high");

        var error = Assert.Throws<MarketCatalogException>(() => MarketCatalog.Load(_fixture.Directory));

        Assert.Contains("field 'metrics.r2' must be a finite number", error.Message);
    }

    [Fact]
    public void Load_ArtifactNotOnnx_ThrowsNamingTheArtifact()
    {
        File.WriteAllBytes(_fixture.ArtifactPath(MarketFixtureCatalog.Line), [0xff, 0xff, 0xff, 0x01]);

        var error = Assert.Throws<MarketCatalogException>(() => MarketCatalog.Load(_fixture.Directory));

        Assert.Contains(_fixture.ArtifactPath(MarketFixtureCatalog.Line), error.Message);
    }

    [Fact]
    public void Load_DeclaredArtifactDigestDiffers_ThrowsNamingArtifactSha256()
    {
        _fixture.Edit(_fixture.CardPath(MarketFixtureCatalog.Line), card => card["artifact"] = new JsonObject { ["sha256"] = new string('0', 64) });

        var error = Assert.Throws<MarketCatalogException>(() => MarketCatalog.Load(_fixture.Directory));

        Assert.Contains(_fixture.CardPath(MarketFixtureCatalog.Line), error.Message);
        Assert.Contains("field 'artifact.sha256'", error.Message);
    }

    [Fact]
    public void Load_TemplateWithoutLoss_ThrowsNamingSpecLoss()
    {
        _fixture.Edit(_fixture.TemplatePath(MarketFixtureCatalog.MlpTemplate), t => t["spec"]!.AsObject().Remove("loss"));

        var error = Assert.Throws<MarketCatalogException>(() => MarketCatalog.Load(_fixture.Directory));

        Assert.Contains(_fixture.TemplatePath(MarketFixtureCatalog.MlpTemplate), error.Message);
        Assert.Contains("field 'spec.loss' must be a non-empty string", error.Message);
    }

    [Fact]
    public void Load_TemplateMarkedAsModel_ThrowsNamingKind()
    {
        _fixture.Edit(_fixture.TemplatePath(MarketFixtureCatalog.LinearTemplate), t => t["kind"] = "model");

        var error = Assert.Throws<MarketCatalogException>(() => MarketCatalog.Load(_fixture.Directory));

        Assert.Contains("field 'kind' must be 'template'", error.Message);
    }

    [Fact]
    public void Load_InvalidJson_ThrowsNamingTheFile()
    {
        File.WriteAllText(_fixture.CardPath(MarketFixtureCatalog.Moons), "{ \"name\": ");

        var error = Assert.Throws<MarketCatalogException>(() => MarketCatalog.Load(_fixture.Directory));

        Assert.Contains(_fixture.CardPath(MarketFixtureCatalog.Moons), error.Message);
        Assert.Contains("is not valid JSON", error.Message);
    }

    [Fact]
    public void Load_TemplateNamedLikeAModel_ThrowsDuplicateName()
    {
        var copy = Path.Combine(_fixture.Directory, "templates", MarketFixtureCatalog.Line + ".json");
        File.Copy(_fixture.TemplatePath(MarketFixtureCatalog.LinearTemplate), copy);
        _fixture.Edit(copy, t => t["name"] = MarketFixtureCatalog.Line);

        var error = Assert.Throws<MarketCatalogException>(() => MarketCatalog.Load(_fixture.Directory));

        Assert.Contains($"the name '{MarketFixtureCatalog.Line}' is used by a ready model and a template", error.Message);
    }

    [Fact]
    public void Search_TwoWords_MatchesOnlyEntriesHoldingBoth()
    {
        var catalog = MarketCatalog.Load(_fixture.Directory);

        var page = catalog.Search("MLP Template", "", "", MarketEntryKind.Unspecified, 50, null);

        Assert.Equal([MarketFixtureCatalog.MlpTemplate], page.Entries.Select(e => e.Name));
    }

    [Fact]
    public void LoadShippedCatalog_WhenPresent_HasThreeModelsAndFourTemplates()
    {
        // The catalog built into the registry's output (services/MaaS.Registry/Market/catalog).
        var shipped = Path.Combine(AppContext.BaseDirectory, "Market", "catalog");

        var catalog = MarketCatalog.Load(shipped);

        Assert.True(catalog.Entries.Count(e => e.Kind == MarketEntryKind.Model) >= 3, "at least three ready models");
        Assert.True(catalog.Entries.Count(e => e.Kind == MarketEntryKind.Template) >= 4, "at least four templates");
        Assert.All(catalog.Entries.Where(e => e.Kind == MarketEntryKind.Model), e => Assert.Equal(64, e.Card.ArtifactDigest.Length));
    }
}
