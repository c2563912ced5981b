using System.Text.Json;
using Google.Protobuf;
using MaaS.MarketModels;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.V1;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Tests;

/// <summary>One generated catalog, shared by the tests that read it (training all market models takes seconds).</summary>
public sealed class GeneratedCatalog : IDisposable
{
    /// <summary>Generates the catalog into a temporary folder.</summary>
    public GeneratedCatalog() => Models = MarketCatalog.Generate(Root);

    /// <summary>The folder.</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "maas-market-a-" + Guid.NewGuid().ToString("N"));

    /// <summary>What Generate reported.</summary>
    public IReadOnlyList<GeneratedModel> Models { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }
}

public sealed class MarketModelsTests(GeneratedCatalog catalog) : IClassFixture<GeneratedCatalog>, IDisposable
{
    private readonly string first = catalog.Root;
    private readonly string second = Path.Combine(Path.GetTempPath(), "maas-market-b-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Generate_Twice_WritesTheSameBytesAndModelsThatMeetTheirBar()
    {
        var models = catalog.Models;
        MarketCatalog.Generate(second);

        var files = Directory.GetFiles(first, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(first, f)).Order().ToList();
        Assert.Equal(files, Directory.GetFiles(second, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(second, f)).Order());
        foreach (var file in files)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(first, file)).SequenceEqual(File.ReadAllBytes(Path.Combine(second, file))), $"{file} differs between runs");
        }

        Assert.Equal(["blobs-3", "circles", "seed-line", "two-moons"], models.Select(m => m.Name).Order());
        foreach (var name in models.Select(m => m.Name))
        {
            Assert.Contains(Path.Combine("models", name, "model.onnx"), files);
            Assert.Contains(Path.Combine("models", name, "data.csv"), files);
            Assert.Contains(Path.Combine("models", name, "card.json"), files);
        }
        foreach (var classifier in models.Where(m => m.Name != "seed-line")) Assert.InRange(classifier.Metrics["val_accuracy"], 0.95, 1);
        Assert.InRange(models.Single(m => m.Name == "seed-line").Metrics["val_r2"], 0.95, 1);
        Assert.All(models, m => Assert.InRange(m.Metrics["export_max_abs_diff"], 0, 1e-5));
    }

    [Fact]
    public void Generate_Card_DescribesTheModelItShipsWith()
    {
        using var card = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(first, "models", "blobs-3", "card.json")));
        var root = card.RootElement;
        Assert.Equal(("blobs-3", "model", "multiclass_classification", "MIT"),
            (root.GetProperty("name").GetString(), root.GetProperty("kind").GetString(), root.GetProperty("task").GetString(), root.GetProperty("licence").GetString()));
        Assert.Equal("west,east,north", root.GetProperty("hyperparameters").GetProperty("classes").GetString());
        Assert.Equal(["output", "label"], root.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        Assert.Equal([-1, 3], root.GetProperty("outputs")[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Contains("seed 42", root.GetProperty("training_data").GetString());
        var onnx = File.ReadAllBytes(Path.Combine(first, "models", "blobs-3", "model.onnx"));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(onnx)), root.GetProperty("artifact").GetProperty("sha256").GetString());
        foreach (var key in new[] { "intended_use", "limits", "title", "tags", "inputs", "metrics" }) Assert.True(root.TryGetProperty(key, out _), key);
    }

    [Fact]
    public void Generate_Templates_ParseAsTrainingSpecsTheTrainerAccepts()
    {
        var validator = new SpecValidator(Options.Create(new TrainerOptions()));

        var names = Directory.GetFiles(Path.Combine(first, "templates")).Select(Path.GetFileNameWithoutExtension).Order();
        Assert.Equal(["linear-regression", "logistic-regression", "mlp-classifier", "mlp-regressor"], names);
        foreach (var file in Directory.GetFiles(Path.Combine(first, "templates")))
        {
            using var template = JsonDocument.Parse(File.ReadAllBytes(file));
            Assert.Equal("template", template.RootElement.GetProperty("kind").GetString());
            var spec = JsonParser.Default.Parse<TrainingSpec>(template.RootElement.GetProperty("spec").GetRawText());
            spec.ModelName = "m";
            spec.DatasetName = "d";
            spec.LabelColumn = "y";

            var (normalized, violations) = validator.Validate(spec);

            Assert.Empty(violations);
            Assert.Equal(template.RootElement.GetProperty("task").GetString(), normalized.Task);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(second)) Directory.Delete(second, recursive: true);
    }
}
