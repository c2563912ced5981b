using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.Training;
using MaaS.Trainer.V1;
using static MaaS.Trainer.Training.TrainingTerms;

namespace MaaS.MarketModels;

/// <summary>A ready model of the market: its data, the spec our trainer trains it with, and its card's words.</summary>
public sealed record ReadyModel(
    string Name,
    string Title,
    string[] Tags,
    Func<NumericTable> Data,
    string TrainingData,
    TrainingSpec Spec,
    string IntendedUse,
    string Limits);

/// <summary>A training template of the market: a spec without data, for "train this on my dataset".</summary>
public sealed record TrainingTemplate(string Name, string Title, string[] Tags, string Description, TrainingSpec Spec);

/// <summary>What the market ships, defined once: the generator writes it and the tests check it.</summary>
public static class MarketEntries
{
    /// <summary>The seed every model and data set uses.</summary>
    public const int Seed = 42;

    /// <summary>The ready models.</summary>
    public static IReadOnlyList<ReadyModel> Models { get; } =
    [
        new(
            "seed-line",
            "Seed line: linear regression of y = 2x + 1",
            ["regression", "linear", "tabular", "demo"],
            () => SyntheticData.Line(rows: 100, slope: 2, intercept: 1, noise: 0.1, seed: 7),
            "100 rows generated in code (tests/MaaS.MarketModels, SyntheticData.Line, seed 7): x uniform in [0, 3], "
            + "y = 2x + 1 + Gaussian noise with standard deviation 0.1; values rounded to 4 decimals; 20% held out (seed 42) for validation.",
            new TrainingSpec
            {
                Architecture = LinearRegression, Task = Regression, Loss = Mse, Optimizer = Sgd,
                LearningRate = 0.1, Epochs = 1000, ValidationSplit = 0.2, Standardize = false,
                LabelColumn = "y", FeatureColumns = { "x" }, Seed = Seed,
            },
            "The platform's seed example: send x, get y ≈ 2x + 1. Useful to try installing, deploying and calling a model end to end.",
            "Learned from x in [0, 3] only; outside that range it extrapolates the line. One feature, no uncertainty estimate."),
        new(
            "two-moons",
            "Two moons: MLP binary classifier",
            ["classification", "binary", "mlp", "tabular", "demo"],
            () => SyntheticData.TwoMoons(rows: 400, noise: 0.15, seed: Seed),
            "400 rows generated in code (SyntheticData.TwoMoons, seed 42): two interleaving half circles, 200 per class, "
            + "Gaussian noise 0.15 on both coordinates; values rounded to 4 decimals; 25% held out (seed 42) for validation.",
            new TrainingSpec
            {
                Architecture = Mlp, Task = BinaryClassification, Loss = BinaryCrossEntropy, Optimizer = Adam,
                HiddenSizes = { 16, 16 }, Activation = Tanh, LearningRate = 0.01, Epochs = 200, BatchSize = 32,
                ValidationSplit = 0.25, Standardize = true, LabelColumn = "label", ClassNames = { "upper", "lower" }, Seed = Seed,
            },
            "A small non-linear decision boundary: send (x1, x2), get the probability of the lower moon and the class.",
            "Only meaningful for points near the two moons (x1 in about [-1.5, 2.5], x2 in about [-1, 1.5]); synthetic data, not a real-world model."),
        new(
            "blobs-3",
            "Three blobs: softmax-regression classifier",
            ["classification", "multiclass", "logistic", "tabular", "demo"],
            () => SyntheticData.Blobs(rowsPerClass: 150, centres: [(-2.5, 0), (2.5, 0), (0, 3.5)], spread: 0.8, seed: Seed),
            "450 rows generated in code (SyntheticData.Blobs, seed 42): three Gaussian blobs of 150 points around (-2.5, 0), "
            + "(2.5, 0) and (0, 3.5) with standard deviation 0.8; values rounded to 4 decimals; 25% held out (seed 42) for validation.",
            new TrainingSpec
            {
                Architecture = LogisticRegression, Task = MulticlassClassification, Loss = CrossEntropy, Optimizer = Adam,
                LearningRate = 0.05, Epochs = 100, BatchSize = 32, ValidationSplit = 0.25, Standardize = true,
                LabelColumn = "label", ClassNames = { "west", "east", "north" }, Seed = Seed,
            },
            "A linear multi-class example: send (x1, x2), get one probability per class (west, east, north) and the class index.",
            "Linear boundaries only; points far from all three blobs still get a confident class. Synthetic data."),
        new(
            "circles",
            "Circles: MLP classifier of an inner and an outer ring",
            ["classification", "binary", "mlp", "tabular", "demo"],
            () => SyntheticData.Circles(rows: 400, factor: 0.5, noise: 0.08, seed: Seed),
            "400 rows generated in code (SyntheticData.Circles, seed 42): 200 points on the unit circle (outer) and 200 on a circle "
            + "of radius 0.5 (inner), Gaussian noise 0.08; values rounded to 4 decimals; 25% held out (seed 42) for validation.",
            new TrainingSpec
            {
                Architecture = Mlp, Task = BinaryClassification, Loss = BinaryCrossEntropy, Optimizer = AdamW,
                HiddenSizes = { 16, 16 }, Activation = Relu, LearningRate = 0.01, WeightDecay = 0.01, Epochs = 200, BatchSize = 32,
                ValidationSplit = 0.25, Standardize = true, LabelColumn = "label", ClassNames = { "outer", "inner" }, Seed = Seed,
            },
            "A boundary no line can draw: send (x1, x2), get the probability of the inner ring and the class.",
            "Trained on radii 0.5 and 1 only; points far outside the unit circle are extrapolated. Synthetic data."),
    ];

    /// <summary>The training templates.</summary>
    public static IReadOnlyList<TrainingTemplate> Templates { get; } =
    [
        new("linear-regression", "Linear regression", ["regression", "linear", "tabular"],
            "Predicts a number as a weighted sum of the features. Full-batch SGD on mean squared error, features standardised inside the model.",
            new TrainingSpec
            {
                Task = Regression, Architecture = LinearRegression, Loss = Mse, Optimizer = Sgd, LearningRate = 0.1, Epochs = 1000,
                BatchSize = 0, ValidationSplit = 0.2, Standardize = true, Seed = Seed,
            }),
        new("logistic-regression", "Logistic regression", ["classification", "binary", "logistic", "tabular"],
            "Predicts one of two classes with a linear boundary; the model returns the probability of class 1 and the class. "
            + "For more than two classes set task multiclass_classification and loss cross_entropy (softmax regression).",
            new TrainingSpec
            {
                Task = BinaryClassification, Architecture = LogisticRegression, Loss = BinaryCrossEntropy, Optimizer = Adam, LearningRate = 0.05,
                Epochs = 200, BatchSize = 32, ValidationSplit = 0.2, Standardize = true, Seed = Seed,
            }),
        new("mlp-classifier", "MLP classifier", ["classification", "mlp", "tabular"],
            "A two-hidden-layer network for non-linear class boundaries; AdamW with weight decay and early stopping on the validation loss. "
            + "For more than two classes set task multiclass_classification and loss cross_entropy.",
            new TrainingSpec
            {
                Task = BinaryClassification, Architecture = Mlp, HiddenSizes = { 32, 32 }, Activation = Relu, Loss = BinaryCrossEntropy,
                Optimizer = AdamW, LearningRate = 0.01, WeightDecay = 0.01, Epochs = 300, BatchSize = 32, ValidationSplit = 0.2,
                Standardize = true, EarlyStoppingPatience = 30, Seed = Seed,
            }),
        new("mlp-regressor", "MLP regressor", ["regression", "mlp", "tabular"],
            "A two-hidden-layer network for non-linear regression; Adam on mean squared error with a cosine learning-rate schedule.",
            new TrainingSpec
            {
                Task = Regression, Architecture = Mlp, HiddenSizes = { 32, 32 }, Activation = Relu, Loss = Mse, Optimizer = Adam,
                LearningRate = 0.01, Epochs = 300, BatchSize = 32, ValidationSplit = 0.2, Standardize = true, LrSchedule = Cosine, Seed = Seed,
            }),
    ];
}
