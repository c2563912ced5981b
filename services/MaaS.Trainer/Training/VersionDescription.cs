using System.Globalization;
using MaaS.Onnx.Export;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;

namespace MaaS.Trainer.Training;

/// <summary>
/// How a trained model is described to the registry (and to the market's cards): its signature and
/// the hyper-parameters that made it, in one place so both always say the same.
/// </summary>
public static class VersionDescription
{
    /// <summary>The input: "input" FP32 [-1, features] (raw features; standardisation is inside the graph).</summary>
    public static IReadOnlyList<TensorSpec> Inputs(TrainedModel trained) =>
        [new TensorSpec { Name = DenseNetworkExporter.Input, Datatype = "FP32", Shape = { -1, trained.FeatureColumns.Count } }];

    /// <summary>"output" FP32 [-1, outputs] (value, probability of class 1, or class probabilities) and, for a classifier, "label" INT64 [-1, 1].</summary>
    public static IReadOnlyList<TensorSpec> Outputs(TrainedModel trained)
    {
        var outputs = new List<TensorSpec> { new() { Name = DenseNetworkExporter.Output, Datatype = "FP32", Shape = { -1, trained.Network.Outputs } } };
        if (trained.Classes is not null) outputs.Add(new TensorSpec { Name = DenseNetworkExporter.Label, Datatype = "INT64", Shape = { -1, 1 } });
        return outputs;
    }

    /// <summary>The spec's settings as the version's hyper-parameters, with the classes of a classifier.</summary>
    public static SortedDictionary<string, string> Hyperparameters(TrainingSpec spec, TrainedModel trained)
    {
        var h = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["architecture"] = spec.Architecture,
            ["task"] = spec.Task,
            ["optimizer"] = spec.Optimizer,
            ["loss"] = spec.Loss,
            ["epochs"] = Show(spec.Epochs),
            ["learning_rate"] = Show(spec.LearningRate),
            ["seed"] = Show(spec.Seed),
            ["feature_columns"] = string.Join(",", trained.FeatureColumns),
            ["label_column"] = spec.LabelColumn,
            ["batch_size"] = Show(spec.BatchSize),
            ["momentum"] = Show(spec.Momentum),
            ["weight_decay"] = Show(spec.WeightDecay),
            ["validation_split"] = Show(spec.ValidationSplit),
            ["standardize"] = spec.Standardize ? "true" : "false",
            ["lr_schedule"] = spec.LrSchedule,
            ["device"] = spec.Device,
        };
        if (spec.HiddenSizes.Count > 0)
        {
            h["hidden_sizes"] = string.Join(",", spec.HiddenSizes.Select(s => Show(s)));
            h["activation"] = spec.Activation;
        }
        if (spec.Loss == TrainingTerms.Huber) h["huber_delta"] = Show(spec.HuberDelta);
        if (spec.LrSchedule == TrainingTerms.Step)
        {
            h["lr_step_epochs"] = Show(spec.LrStepEpochs);
            h["lr_gamma"] = Show(spec.LrGamma);
        }
        if (spec.EarlyStoppingPatience > 0)
        {
            h["early_stopping_patience"] = Show(spec.EarlyStoppingPatience);
            h["early_stopping_min_delta"] = Show(spec.EarlyStoppingMinDelta);
        }
        if (trained.Classes is { } classes)
        {
            // Class i of the "label" output (and column i of a softmax "output") is classes[i].
            h["classes"] = string.Join(",", classes.Names);
            h["class_values"] = string.Join(",", classes.Values.Select(v => Show(v)));
        }
        return h;
    }

    private static string Show(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
