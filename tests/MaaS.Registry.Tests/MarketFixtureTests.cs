using System.Text.Json.Nodes;
using Grpc.Net.Client;
using MaaS.Onnx.Export;
using MaaS.Registry.V1;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Registry.Tests;

/// <summary>
/// A small market catalog written into a temporary folder: two ready models (ONNX files made by the mesh's
/// exporter) and two templates, in the layout the registry ships its catalog in.
/// </summary>
public sealed class MarketFixtureCatalog : IDisposable
{
    /// <summary>The regression model.</summary>
    public const string Line = "fixture-line";

    /// <summary>The classifier.</summary>
    public const string Moons = "fixture-moons";

    /// <summary>The linear regression template.</summary>
    public const string LinearTemplate = "fixture-linear-regression";

    /// <summary>The MLP classifier template.</summary>
    public const string MlpTemplate = "fixture-mlp-classifier";

    /// <summary>Training data shipped with <see cref="Line"/>.</summary>
    public const string LineData = "x,y\n0,1\n1,3\n2,5\n";

    /// <summary>Writes the catalog.</summary>
    public MarketFixtureCatalog()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("maas-market-tests-").FullName;
        WriteModel(Line, LineCard(), DenseNetworkExporter.Export([new DenseLayer(1, 1, [2f], [1f])]), LineData);
        WriteModel(Moons, MoonsCard(), DenseNetworkExporter.Export(
            [DenseLayer.Random(2, 8, DenseActivation.Tanh, seed: 1), DenseLayer.Random(8, 2, DenseActivation.None, seed: 2)], softmax: true), null);
        WriteTemplate(LinearTemplate, Template(LinearTemplate, "Linear regression", "regression", ["regression", "linear", "template"],
            "Fits y = w·x + b with mean squared error; a baseline for any numeric target.", "linear_regression", "mse", []));
        WriteTemplate(MlpTemplate, Template(MlpTemplate, "MLP classifier", "multiclass-classification", ["classification", "mlp", "template"],
            "A two-layer perceptron with a softmax head for classes that no line separates.", "mlp_classifier", "cross_entropy", [32, 32]));
    }

    /// <summary>The catalog folder.</summary>
    public string Directory { get; }

    /// <summary>Path of a model's card.</summary>
    public string CardPath(string model) => Path.Combine(Directory, "models", model, "card.json");

    /// <summary>Path of a model's artifact.</summary>
    public string ArtifactPath(string model) => Path.Combine(Directory, "models", model, "model.onnx");

    /// <summary>Path of a template file.</summary>
    public string TemplatePath(string template) => Path.Combine(Directory, "templates", template + ".json");

    /// <summary>Rewrites a file after changing its JSON.</summary>
    public void Edit(string path, Action<JsonObject> change)
    {
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        change(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    /// <summary>The card of <see cref="Line"/>.</summary>
    public static JsonObject LineCard() => new()
    {
        ["name"] = Line,
        ["kind"] = "model",
        ["title"] = "Seed line regressor",
        ["task"] = "regression",
        ["tags"] = new JsonArray("regression", "linear", "tabular"),
        ["inputs"] = new JsonArray(Tensor("input", 1)),
        ["outputs"] = new JsonArray(Tensor("output", 1)),
        ["intended_use"] = "Predicts y = 2x + 1 for one numeric feature; a first model to deploy and call.",
        ["limits"] = "Only meaningful for x in [0, 2].",
        ["licence"] = "MIT",
        ["metrics"] = new JsonObject { ["train_mse"] = 0.001, ["r2"] = 0.999 },
        ["training_data"] = "Three points on the line y = 2x + 1.",
        ["hyperparameters"] = new JsonObject
        {
            ["architecture"] = "linear_regression", ["epochs"] = 200, ["learning_rate"] = 0.05, ["hidden_sizes"] = new JsonArray(),
        },
    };

    /// <summary>The card of <see cref="Moons"/>.</summary>
    public static JsonObject MoonsCard() => new()
    {
        ["name"] = Moons,
        ["kind"] = "model",
        ["title"] = "Two-moons classifier",
        ["task"] = "binary-classification",
        ["tags"] = new JsonArray("classification", "mlp", "two-moons"),
        ["inputs"] = new JsonArray(Tensor("input", 2)),
        ["outputs"] = new JsonArray(Tensor("output", 2)),
        ["intended_use"] = "Tells the two interleaved half circles apart; shows a non-linear boundary.",
        ["limits"] = "Trained on synthetic points with noise 0.1.",
        ["licence"] = "MIT",
        ["metrics"] = new JsonObject { ["accuracy"] = 0.97 },
        ["training_data"] = "1000 generated two-moons points.",
        ["hyperparameters"] = new JsonObject { ["architecture"] = "mlp_classifier", ["hidden_sizes"] = new JsonArray(8) },
    };

    private static JsonObject Tensor(string name, int width) => new()
    {
        ["name"] = name, ["datatype"] = "FP32", ["shape"] = new JsonArray(-1, width),
    };

    private static JsonObject Template(string name, string title, string task, string[] tags, string description, string architecture,
        string loss, int[] hidden) => new()
    {
        ["name"] = name,
        ["kind"] = "template",
        ["title"] = title,
        ["task"] = task,
        ["tags"] = new JsonArray(tags.Select(t => (JsonNode)t).ToArray()),
        ["description"] = description,
        ["spec"] = new JsonObject
        {
            ["architecture"] = architecture,
            ["loss"] = loss,
            ["optimizer"] = "adam",
            ["learning_rate"] = 0.01,
            ["epochs"] = 300,
            ["batch_size"] = 32,
            ["hidden_sizes"] = new JsonArray(hidden.Select(h => (JsonNode)h).ToArray()),
            ["activation"] = "relu",
        },
    };

    private void WriteModel(string name, JsonObject card, byte[] onnx, string? data)
    {
        var folder = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "models", name)).FullName;
        File.WriteAllText(Path.Combine(folder, "card.json"), card.ToJsonString());
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), onnx);
        if (data is not null) File.WriteAllText(Path.Combine(folder, "data.csv"), data);
    }

    private void WriteTemplate(string name, JsonObject template)
    {
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "templates"));
        File.WriteAllText(TemplatePath(name), template.ToJsonString());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }
}

/// <summary>The registry hosted on a temporary data folder with a given market catalog, and clients of both services.</summary>
public sealed class MarketHost : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;
    private readonly GrpcChannel _channel;

    /// <summary>Starts the registry; <paramref name="catalogDirectory"/> null = the catalog shipped with it.</summary>
    public MarketHost(string? catalogDirectory)
    {
        DataDirectory = System.IO.Directory.CreateTempSubdirectory("maas-market-host-").FullName;
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Bus:Transport", "InMemory");
            builder.UseSetting("Mesh:GrpcPort", "1");
            builder.UseSetting("Mesh:DataDirectory", DataDirectory);
            if (catalogDirectory is not null) builder.UseSetting("Market:CatalogDirectory", catalogDirectory);
            builder.ConfigureTestServices(services => services.AddMassTransitTestHarness());
        });
        try
        {
            _channel = GrpcChannel.ForAddress(_factory.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = _factory.Server.CreateHandler() });
        }
        catch
        {
            _factory.Dispose();
            DeleteData();
            throw;
        }
        Market = new MarketService.MarketServiceClient(_channel);
        Registry = new RegistryService.RegistryServiceClient(_channel);
    }

    /// <summary>The data folder.</summary>
    public string DataDirectory { get; }

    /// <summary>Market client.</summary>
    public MarketService.MarketServiceClient Market { get; }

    /// <summary>Registry client.</summary>
    public RegistryService.RegistryServiceClient Registry { get; }

    /// <summary>The bus test harness (published events).</summary>
    public ITestHarness Harness => _factory.Services.GetTestHarness();

    /// <summary>Every entry a search returns, following the page tokens.</summary>
    public async Task<List<MarketEntrySummary>> SearchAllAsync(SearchMarketRequest request)
    {
        var all = new List<MarketEntrySummary>();
        while (true)
        {
            var page = await Market.SearchMarketAsync(request);
            all.AddRange(page.Entries);
            if (page.NextPageToken.Length == 0) return all;
            request = request.Clone();
            request.PageToken = page.NextPageToken;
        }
    }

    /// <summary>Downloads an artifact's bytes.</summary>
    public async Task<byte[]> DownloadAsync(string model, long version)
    {
        using var call = Registry.DownloadArtifact(new DownloadArtifactRequest { ModelName = model, Version = version });
        using var bytes = new MemoryStream();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            if (call.ResponseStream.Current.PayloadCase == DownloadArtifactResponse.PayloadOneofCase.Chunk)
            {
                call.ResponseStream.Current.Chunk.WriteTo(bytes);
            }
        }
        return bytes.ToArray();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _factory.DisposeAsync();
        DeleteData();
    }

    private void DeleteData()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { System.IO.Directory.Delete(DataDirectory, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }
}
