using System.Text.RegularExpressions;
using MaaS.Trainer.V1;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Jobs;

/// <summary>
/// Checks a training spec field by field and fills the defaults (architecture, optimizer, loss).
/// Each broken rule becomes one sentence naming the field, the rule and the value given.
/// </summary>
public sealed partial class SpecValidator(IOptions<TrainerOptions> options)
{
    /// <summary>The architectures, optimizers and losses implemented so far.</summary>
    public const string LinearRegression = "linear_regression", Sgd = "sgd", Mse = "mse";

    /// <summary>Largest learning rate accepted; above it plain SGD only diverges.</summary>
    public const double MaxLearningRate = 10;

    /// <summary>Returns the spec with defaults filled in and the rules it breaks (none = valid).</summary>
    public (TrainingSpec Spec, IReadOnlyList<string> Violations) Validate(TrainingSpec spec)
    {
        var s = spec.Clone();
        if (s.Architecture.Length == 0) s.Architecture = LinearRegression;
        if (s.Optimizer.Length == 0) s.Optimizer = Sgd;
        if (s.Loss.Length == 0) s.Loss = Mse;

        var maxEpochs = options.Value.MaxEpochs;
        var v = new List<string>();
        if (!ModelName().IsMatch(s.ModelName))
        {
            v.Add($"spec.model_name must match ^[a-z0-9][a-z0-9._-]{{0,63}}$ (lower-case letters, digits, '.', '_', '-', 1-64 characters); it is '{s.ModelName}'.");
        }
        if (s.DatasetName.Length == 0) v.Add("spec.dataset_name is required.");
        if (s.DatasetVersion < 0) v.Add($"spec.dataset_version must be 0 (latest) or a version number; it is {s.DatasetVersion}.");
        if (s.LabelColumn.Length == 0) v.Add("spec.label_column is required.");
        if (s.FeatureColumns.Any(string.IsNullOrWhiteSpace)) v.Add("spec.feature_columns must not contain an empty name.");
        if (s.FeatureColumns.Distinct(StringComparer.Ordinal).Count() != s.FeatureColumns.Count)
        {
            v.Add("spec.feature_columns must not name a column twice.");
        }
        if (s.LabelColumn.Length > 0 && s.FeatureColumns.Contains(s.LabelColumn))
        {
            v.Add($"spec.feature_columns must not contain the label column '{s.LabelColumn}'.");
        }
        if (s.Architecture != LinearRegression) v.Add($"spec.architecture must be '{LinearRegression}' (the only one so far); it is '{s.Architecture}'.");
        if (s.Optimizer != Sgd) v.Add($"spec.optimizer must be '{Sgd}' (the only one so far); it is '{s.Optimizer}'.");
        if (s.Loss != Mse) v.Add($"spec.loss must be '{Mse}' (the only one so far); it is '{s.Loss}'.");
        if (s.Epochs < 1 || s.Epochs > maxEpochs) v.Add($"spec.epochs must be between 1 and {maxEpochs}; it is {s.Epochs}.");
        if (!double.IsFinite(s.LearningRate) || s.LearningRate <= 0 || s.LearningRate > MaxLearningRate)
        {
            v.Add($"spec.learning_rate must be a finite number greater than 0 and at most {MaxLearningRate}; it is {s.LearningRate}.");
        }
        if (s.WarmStartVersion < 0) v.Add($"spec.warm_start_version must be 0 (fresh weights) or a version number; it is {s.WarmStartVersion}.");
        return (s, v);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex ModelName();
}
