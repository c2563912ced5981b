using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.V1;

namespace MaaS.Trainer.Tests.Support;

/// <summary>Datasets and specs the tests train on.</summary>
public static class TestData
{
    /// <summary>y = slope·x + intercept + N(0, noise²), x uniform in [0, 3]; columns x, y.</summary>
    public static NumericTable Line(double slope, double intercept, int rows = 100, double noise = 0.1, int seed = 7)
    {
        var random = new Random(seed);
        var data = new List<double[]>(rows);
        for (var i = 0; i < rows; i++)
        {
            var x = random.NextDouble() * 3;
            data.Add([x, slope * x + intercept + noise * Gaussian(random)]);
        }
        return new NumericTable(["x", "y"], data);
    }

    /// <summary>The spec of the brief: SGD, learning rate 0.1, 1000 epochs, label y.</summary>
    public static TrainingSpec Spec(string model = "line", string dataset = "line-data", int epochs = 1000, double learningRate = 0.1) => new()
    {
        ModelName = model,
        DatasetName = dataset,
        LabelColumn = "y",
        Epochs = epochs,
        LearningRate = learningRate,
        Seed = 42,
    };

    /// <summary>Two well-separated Gaussian clouds in 2-D around (-2, -2) (label 0) and (2, 2) (label 1); columns x1, x2, label.</summary>
    public static NumericTable Separable(int rows = 200, int seed = 5)
    {
        var random = new Random(seed);
        var data = new List<double[]>(rows);
        for (var i = 0; i < rows; i++)
        {
            var label = i % 2;
            var centre = label == 0 ? -2 : 2;
            data.Add([centre + 0.7 * Gaussian(random), centre + 0.7 * Gaussian(random), label]);
        }
        return new NumericTable(["x1", "x2", "label"], data);
    }

    /// <summary>A classifier spec on columns x1, x2 → label: Adam, 32-row batches, a quarter held out.</summary>
    public static TrainingSpec Classifier(string task, string architecture, int epochs = 100, params int[] hidden) => new()
    {
        ModelName = "classifier",
        DatasetName = "classifier-data",
        LabelColumn = "label",
        Task = task,
        Architecture = architecture,
        HiddenSizes = { hidden },
        Optimizer = "adam",
        LearningRate = 0.02,
        Epochs = epochs,
        BatchSize = 32,
        ValidationSplit = 0.25,
        Seed = 42,
    };

    // Box-Muller: a standard normal sample from two uniform ones.
    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
