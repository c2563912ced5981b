using System.Text;
using Grpc.Core;
using MaaS.Onnx.Export;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Data;
using MaaS.Updater.Registry;

namespace MaaS.Updater.Tests.Support;

/// <summary>An in-memory registry: models, versions with real ONNX artifacts, datasets and the production alias.</summary>
public sealed class FakeRegistry : IRegistryGateway
{
    private readonly object gate = new();
    private readonly Dictionary<string, Model> models = new();
    private readonly Dictionary<(string, long), ModelVersion> versions = new();
    private readonly Dictionary<(string, long), byte[]> artifacts = new();
    private readonly Dictionary<(string, long), (DatasetVersion, byte[])> datasets = new();

    /// <summary>Every dataset upload, in order.</summary>
    public List<(DatasetVersion Dataset, NumericTable Table)> Uploads { get; } = [];

    /// <summary>Every production move, in order.</summary>
    public List<(string Model, long Version, string Reason)> Promotions { get; } = [];

    /// <summary>
    /// Adds version <paramref name="version"/> of a one-feature regression y = w·x + b (features "x", label "y"),
    /// trained on the dataset "{model}-train" v1 of 10 rows of y = 2x + 1, and makes it production when asked.
    /// </summary>
    public ModelVersion AddLinear(string model, long version, float w, float b, bool production = true, double valMse = 0.0)
    {
        var bytes = DenseNetworkExporter.Export([new DenseLayer(1, 1, [w], [b])]);
        var v = Version(model, version, bytes, "regression", production);
        v.Metrics["val_mse"] = valMse;
        v.Metrics["val_mae"] = Math.Sqrt(valMse);
        v.Metrics["val_r2"] = 1.0;
        var training = new NumericTable(["x", "y"], Enumerable.Range(0, 10).Select(i => new double[] { i, 2 * i + 1 }).ToList());
        AddDataset($"{model}-train", 1, training);
        v.Lineage = new Lineage { DatasetName = $"{model}-train", DatasetVersion = 1 };
        return v;
    }

    /// <summary>Adds a binary classifier p(y=1) = sigmoid(w·x + b) with classes 0 and 1.</summary>
    public ModelVersion AddBinary(string model, long version, float w, float b, bool production = true, double valAccuracy = 1.0)
    {
        var bytes = DenseNetworkExporter.Export([new DenseLayer(1, 1, [w], [b])], new DenseNetworkOptions { Head = DenseHead.Sigmoid, LabelOutput = true });
        var v = Version(model, version, bytes, "binary_classification", production);
        v.Hyperparameters["class_values"] = "0,1";
        v.Hyperparameters["classes"] = "0,1";
        v.Metrics["val_accuracy"] = valAccuracy;
        return v;
    }

    /// <summary>Adds a model without versions.</summary>
    public void AddModel(string model)
    {
        lock (gate) models.TryAdd(model, new Model { Name = model });
    }

    /// <summary>Stores a dataset version.</summary>
    public void AddDataset(string name, long version, NumericTable table)
    {
        lock (gate) datasets[(name, version)] = (new DatasetVersion { Name = name, Version = version, Format = "csv" }, Encoding.UTF8.GetBytes(table.ToCsv()));
    }

    /// <summary>The production version of a model, or 0.</summary>
    public long Production(string model)
    {
        lock (gate) return models.TryGetValue(model, out var m) && m.Aliases.TryGetValue("production", out var v) ? v : 0;
    }

    private ModelVersion Version(string model, long version, byte[] bytes, string task, bool production)
    {
        var v = new ModelVersion { ModelName = model, Version = version };
        v.Hyperparameters.Add(new Dictionary<string, string>
        {
            ["feature_columns"] = "x", ["label_column"] = "y", ["task"] = task, ["epochs"] = "50", ["learning_rate"] = "0.1",
            ["seed"] = "1", ["validation_split"] = "0.2",
            ["architecture"] = task == "regression" ? "linear_regression" : "logistic_regression",
        });
        lock (gate)
        {
            var m = models.TryGetValue(model, out var found) ? found : models[model] = new Model { Name = model };
            m.LatestVersion = Math.Max(m.LatestVersion, version);
            if (production) m.Aliases["production"] = version;
            versions[(model, version)] = v;
            artifacts[(model, version)] = bytes;
        }
        return v;
    }

    /// <inheritdoc />
    public Task<Model> GetModelAsync(string model, CancellationToken ct)
    {
        lock (gate)
        {
            return models.TryGetValue(model, out var m)
                ? Task.FromResult(m.Clone())
                : throw new RpcException(new Status(StatusCode.NotFound, $"Model '{model}' not found."));
        }
    }

    /// <inheritdoc />
    public async Task<ModelVersion> GetChampionAsync(string model, CancellationToken ct)
    {
        var m = await GetModelAsync(model, ct);
        if (!m.Aliases.TryGetValue("production", out var version))
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Model '{model}' has no 'production' version yet."));
        }
        return await GetVersionAsync(model, version, ct);
    }

    /// <inheritdoc />
    public Task<ModelVersion> GetVersionAsync(string model, long version, CancellationToken ct)
    {
        lock (gate)
        {
            return versions.TryGetValue((model, version), out var v)
                ? Task.FromResult(v.Clone())
                : throw new RpcException(new Status(StatusCode.NotFound, $"Version {version} of '{model}' not found."));
        }
    }

    /// <inheritdoc />
    public Task<DatasetVersion> UploadCsvAsync(string dataset, string csv, string description, CancellationToken ct)
    {
        lock (gate)
        {
            var version = datasets.Keys.Where(k => k.Item1 == dataset).Select(k => k.Item2).DefaultIfEmpty(0).Max() + 1;
            var stored = new DatasetVersion { Name = dataset, Version = version, Format = "csv", Description = description };
            datasets[(dataset, version)] = (stored, Encoding.UTF8.GetBytes(csv));
            Uploads.Add((stored, NumericTable.Parse(csv)));
            return Task.FromResult(stored);
        }
    }

    /// <inheritdoc />
    public Task<(DatasetVersion Dataset, byte[] Content)> DownloadDatasetAsync(string dataset, long version, CancellationToken ct)
    {
        lock (gate)
        {
            return datasets.TryGetValue((dataset, version), out var d)
                ? Task.FromResult(d)
                : throw new RpcException(new Status(StatusCode.NotFound, $"Dataset {dataset}:{version} not found."));
        }
    }

    /// <inheritdoc />
    public Task<byte[]> DownloadVerifiedArtifactAsync(string model, long version, CancellationToken ct)
    {
        lock (gate)
        {
            return artifacts.TryGetValue((model, version), out var bytes)
                ? Task.FromResult(bytes)
                : throw new RpcException(new Status(StatusCode.NotFound, $"Version {version} of '{model}' not found."));
        }
    }

    /// <inheritdoc />
    public Task PromoteAsync(string model, long version, string reason, CancellationToken ct)
    {
        lock (gate)
        {
            models[model].Aliases["production"] = version;
            Promotions.Add((model, version, reason));
        }
        return Task.CompletedTask;
    }
}
