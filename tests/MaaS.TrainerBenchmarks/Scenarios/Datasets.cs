using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.V1;

namespace MaaS.TrainerBenchmarks.Scenarios;

/// <summary>The benchmark's data and specs, generated from fixed seeds so every run trains the same thing.</summary>
public static class Datasets
{
    /// <summary>The seed line: x uniform in [0, 3), y = 2x + 1 + N(0, 0.1²).</summary>
    public static NumericTable Line(int rows = 100, int seed = 7)
    {
        var random = new Random(seed);
        var data = new List<double[]>(rows);
        for (var i = 0; i < rows; i++)
        {
            var x = random.NextDouble() * 3;
            data.Add([x, 2 * x + 1 + 0.1 * Gaussian(random)]);
        }
        return new NumericTable(["x", "y"], data);
    }

    /// <summary>Eight standard-normal features and a smooth non-linear label with a little noise.</summary>
    public static NumericTable Mlp(int rows, int seed = 11)
    {
        var random = new Random(seed);
        var data = new List<double[]>(rows);
        for (var i = 0; i < rows; i++)
        {
            var x = new double[9];
            for (var j = 0; j < 8; j++) x[j] = Gaussian(random);
            x[8] = Math.Sin(x[0]) + x[1] * x[2] - 0.5 * x[3] + Math.Tanh(x[4] + x[5]) + 0.1 * x[6] * x[6] - 0.2 * x[7] + 0.05 * Gaussian(random);
            data.Add(x);
        }
        return new NumericTable(["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "y"], data);
    }

    /// <summary>The seed job of issue 5: linear regression, SGD (full batch), MSE, learning rate 0.1.</summary>
    public static TrainingSpec SeedSpec(string model, string dataset, int epochs) => new()
    {
        ModelName = model,
        DatasetName = dataset,
        FeatureColumns = { "x" },
        LabelColumn = "y",
        Architecture = "linear_regression",
        Optimizer = "sgd",
        Loss = "mse",
        Epochs = epochs,
        LearningRate = 0.1,
        Seed = 42,
    };

    /// <summary>The overhead job: MLP 8 → 64 → 64 → 1 (ReLU), Adam, batches of 256, MSE.</summary>
    public static TrainingSpec MlpSpec(string model, string dataset, int epochs) => new()
    {
        ModelName = model,
        DatasetName = dataset,
        LabelColumn = "y",
        Task = "regression",
        Architecture = "mlp",
        HiddenSizes = { 64, 64 },
        Activation = "relu",
        Optimizer = "adam",
        Loss = "mse",
        Epochs = epochs,
        LearningRate = 0.001,
        BatchSize = 256,
        Seed = 42,
    };

    /// <summary>Uploads <paramref name="csv"/> as a new version of dataset <paramref name="name"/>.</summary>
    public static async Task<DatasetVersion> UploadAsync(RegistryService.RegistryServiceClient registry, string name, string csv)
    {
        var bytes = Encoding.UTF8.GetBytes(csv);
        using var call = registry.UploadDataset();
        await call.RequestStream.WriteAsync(new UploadDatasetRequest
        {
            Manifest = new DatasetManifest { Name = name, Format = "csv", Description = "trainer benchmark", Digest = Convert.ToHexStringLower(SHA256.HashData(bytes)) },
        });
        for (var offset = 0; offset < bytes.Length; offset += 1 << 20)
        {
            await call.RequestStream.WriteAsync(new UploadDatasetRequest { Chunk = ByteString.CopyFrom(bytes, offset, Math.Min(1 << 20, bytes.Length - offset)) });
        }
        await call.RequestStream.CompleteAsync();
        return (await call).Dataset;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
