using MaaS.ServiceDefaults;
using System.Globalization;
using MaaS.Trainer.Training;
using MaaS.Trainer.V1;
using Microsoft.Extensions.Options;
using static MaaS.Trainer.Training.TrainingTerms;

namespace MaaS.Trainer.Jobs;

/// <summary>
/// Checks a training spec field by field and fills the defaults (architecture, task, loss, optimizer,
/// activation, standardisation, schedule, device). Each broken rule becomes one sentence naming the
/// field, the rule and the value given.
/// </summary>
public sealed partial class SpecValidator(IOptions<TrainerOptions> options)
{
    /// <summary>The defaults of an empty spec: the seed job's linear regression with full-batch SGD and MSE.</summary>
    public const string DefaultArchitecture = LinearRegression, DefaultOptimizer = Sgd;

    /// <summary>Largest learning rate accepted.</summary>
    public const double MaxLearningRate = SpecLimits.MaxLearningRate;

    /// <summary>Returns the spec with defaults filled in and the rules it breaks (none = valid).</summary>
    public (TrainingSpec Spec, IReadOnlyList<string> Violations) Validate(TrainingSpec spec)
    {
        var s = WithDefaults(spec);

        var maxEpochs = options.Value.MaxEpochs;
        var v = new List<string>();
        if (!MeshNames.IsValid(s.ModelName))
        {
            v.Add($"spec.model_name must be {MeshNames.Rule}; it is '{s.ModelName}'.");
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

        CheckModel(s, v);
        CheckOptimizer(s, v, maxEpochs);
        CheckData(s, v);
        if (s.WarmStartVersion < 0) v.Add($"spec.warm_start_version must be 0 (fresh weights) or a version number; it is {s.WarmStartVersion}.");
        if (s.Device is not (Cpu or Cuda)) v.Add($"spec.device must be one of {Cpu}, {Cuda}; it is '{s.Device}'.");
        return (s, v);
    }

    /// <summary>
    /// A spec this trainer cannot run although it is well formed (FailedPrecondition), or null: cuda, since
    /// TorchSharp's CUDA packages are not available to this build (it carries libtorch-cpu only).
    /// </summary>
    public static string? Unsupported(TrainingSpec spec) => spec.Device == Cuda
        ? "spec.device is cuda, but this trainer is built with libtorch-cpu only (TorchSharp's CUDA packages are not available to this build); use cpu, or run a trainer built with libtorch-cuda (see services/MaaS.Trainer/README.md)."
        : null;

    /// <summary>A copy of the spec with every empty setting given its default (the trainer core applies this too).</summary>
    public static TrainingSpec WithDefaults(TrainingSpec spec)
    {
        var s = spec.Clone();
        FillDefaults(s);
        return s;
    }

    private static void FillDefaults(TrainingSpec s)
    {
        if (s.Architecture.Length == 0) s.Architecture = DefaultArchitecture;
        if (s.Task.Length == 0) s.Task = s.Architecture == LogisticRegression ? BinaryClassification : Regression;
        if (s.Loss.Length == 0 && LossesFor(s.Task) is [var usual, ..]) s.Loss = usual;
        if (s.Optimizer.Length == 0) s.Optimizer = DefaultOptimizer;
        if (s.Activation.Length == 0 && s.Architecture == Mlp) s.Activation = Relu;
        // Linear regression has always taken raw features (its weights read as the slope per raw unit).
        if (!s.HasStandardize) s.Standardize = s.Architecture != LinearRegression;
        if (s.LrSchedule.Length == 0) s.LrSchedule = Constant;
        if (s.LrSchedule == Step && s.LrGamma == 0) s.LrGamma = 0.1;
        if (s.Loss == Huber && s.HuberDelta == 0) s.HuberDelta = 1;
        if (s.Device.Length == 0) s.Device = Cpu;
    }

    private static void CheckModel(TrainingSpec s, List<string> v)
    {
        if (!Architectures.Contains(s.Architecture))
        {
            v.Add($"spec.architecture must be one of {string.Join(", ", Architectures)}; it is '{s.Architecture}'.");
            return;
        }
        if (!Tasks.Contains(s.Task))
        {
            v.Add($"spec.task must be one of {string.Join(", ", Tasks)}; it is '{s.Task}'.");
            return;
        }
        if (!TasksFor(s.Architecture).Contains(s.Task))
        {
            v.Add($"spec.task {s.Task} does not fit architecture {s.Architecture}, which learns {string.Join(" or ", TasksFor(s.Architecture))}.");
        }
        if (!LossesFor(s.Task).Contains(s.Loss))
        {
            v.Add($"spec.loss {(s.Loss.Length == 0 ? "(empty)" : "'" + s.Loss + "'")} does not fit task {s.Task}; use {string.Join(", ", LossesFor(s.Task))}.");
        }
        if (s.Loss == Huber && (!double.IsFinite(s.HuberDelta) || s.HuberDelta <= 0))
        {
            v.Add($"spec.huber_delta must be a finite number greater than 0; it is {Show(s.HuberDelta)}.");
        }
        else if (s.Loss != Huber && s.HuberDelta != 0)
        {
            v.Add($"spec.huber_delta applies to the huber loss only; leave it 0 for {s.Loss}.");
        }

        if (s.Architecture == Mlp)
        {
            if (s.HiddenSizes.Count == 0) v.Add("spec.hidden_sizes is required for an mlp: the widths of its hidden layers, e.g. [16, 16].");
            if (s.HiddenSizes.Count > SpecLimits.MaxHiddenLayers)
            {
                v.Add($"spec.hidden_sizes must have at most {SpecLimits.MaxHiddenLayers} layers; it has {s.HiddenSizes.Count}.");
            }
            var bad = s.HiddenSizes.FirstOrDefault(h => h < 1 || h > SpecLimits.MaxHiddenSize, 1);
            if (bad is < 1 or > SpecLimits.MaxHiddenSize)
            {
                v.Add($"spec.hidden_sizes must hold widths between 1 and {SpecLimits.MaxHiddenSize}; one is {bad}.");
            }
            if (!Activations.Contains(s.Activation))
            {
                v.Add($"spec.activation must be one of {string.Join(", ", Activations)}; it is '{s.Activation}'.");
            }
        }
        else
        {
            if (s.HiddenSizes.Count > 0) v.Add($"spec.hidden_sizes applies to mlp only; {s.Architecture} has no hidden layers.");
            if (s.Activation.Length > 0) v.Add($"spec.activation applies to mlp only; {s.Architecture} has no hidden layers.");
        }

        if (!IsClassification(s.Task) && s.ClassNames.Count > 0) v.Add("spec.class_names applies to classification tasks only.");
        if (s.ClassNames.Count > SpecLimits.MaxClasses) v.Add($"spec.class_names must have at most {SpecLimits.MaxClasses} names; it has {s.ClassNames.Count}.");
        var badName = s.ClassNames.FirstOrDefault(n => n.Length == 0 || n.Length > SpecLimits.MaxClassNameLength || n.Contains(',') || n.Trim() != n);
        if (badName is not null)
        {
            v.Add($"spec.class_names must hold names of 1-{SpecLimits.MaxClassNameLength} characters without commas or surrounding spaces; one is '{badName}'.");
        }
        if (s.ClassNames.Distinct(StringComparer.Ordinal).Count() != s.ClassNames.Count) v.Add("spec.class_names must not name a class twice.");
    }

    private static void CheckOptimizer(TrainingSpec s, List<string> v, int maxEpochs)
    {
        if (!Optimizers.Contains(s.Optimizer)) v.Add($"spec.optimizer must be one of {string.Join(", ", Optimizers)}; it is '{s.Optimizer}'.");
        if (s.Epochs < 1 || s.Epochs > maxEpochs) v.Add($"spec.epochs must be between 1 and {maxEpochs}; it is {s.Epochs}.");
        if (!double.IsFinite(s.LearningRate) || s.LearningRate <= 0 || s.LearningRate > MaxLearningRate)
        {
            v.Add($"spec.learning_rate must be a finite number greater than 0 and at most {MaxLearningRate}; it is {Show(s.LearningRate)}.");
        }
        if (!double.IsFinite(s.Momentum) || s.Momentum < 0 || s.Momentum >= 1)
        {
            v.Add($"spec.momentum must be at least 0 and below 1; it is {Show(s.Momentum)}.");
        }
        else if (s.Momentum > 0 && s.Optimizer is Adam or AdamW)
        {
            v.Add($"spec.momentum applies to gd and sgd only; {s.Optimizer} keeps its own moment estimates.");
        }
        if (!double.IsFinite(s.WeightDecay) || s.WeightDecay < 0 || s.WeightDecay > 1)
        {
            v.Add($"spec.weight_decay must be between 0 and 1; it is {Show(s.WeightDecay)}.");
        }
        if (s.BatchSize < 0 || s.BatchSize > SpecLimits.MaxBatchSize)
        {
            v.Add($"spec.batch_size must be 0 (full batch) or between 1 and {SpecLimits.MaxBatchSize}; it is {s.BatchSize}.");
        }
        else if (s.Optimizer == Gd && s.BatchSize != 0)
        {
            v.Add($"spec.batch_size must be 0 with optimizer gd (full-batch gradient descent); it is {s.BatchSize}: use sgd for mini-batches.");
        }

        if (!Schedules.Contains(s.LrSchedule))
        {
            v.Add($"spec.lr_schedule must be one of {string.Join(", ", Schedules)}; it is '{s.LrSchedule}'.");
        }
        else if (s.LrSchedule == Step)
        {
            if (s.LrStepEpochs < 1) v.Add($"spec.lr_step_epochs must be at least 1 with lr_schedule step; it is {s.LrStepEpochs}.");
            if (!double.IsFinite(s.LrGamma) || s.LrGamma <= 0 || s.LrGamma > 1) v.Add($"spec.lr_gamma must be greater than 0 and at most 1; it is {Show(s.LrGamma)}.");
        }
        else
        {
            if (s.LrStepEpochs != 0) v.Add($"spec.lr_step_epochs applies to lr_schedule step only; leave it 0 for {s.LrSchedule}.");
            if (s.LrGamma != 0) v.Add($"spec.lr_gamma applies to lr_schedule step only; leave it 0 for {s.LrSchedule}.");
        }

        if (s.EarlyStoppingPatience < 0) v.Add($"spec.early_stopping_patience must be 0 (off) or a number of epochs; it is {s.EarlyStoppingPatience}.");
        else if (s.EarlyStoppingPatience > 0 && s.ValidationSplit <= 0)
        {
            v.Add("spec.early_stopping_patience needs a validation split to watch; set spec.validation_split above 0.");
        }
        if (!double.IsFinite(s.EarlyStoppingMinDelta) || s.EarlyStoppingMinDelta < 0)
        {
            v.Add($"spec.early_stopping_min_delta must be a finite number of at least 0; it is {Show(s.EarlyStoppingMinDelta)}.");
        }
    }

    private static void CheckData(TrainingSpec s, List<string> v)
    {
        if (!double.IsFinite(s.ValidationSplit) || s.ValidationSplit < 0 || s.ValidationSplit > SpecLimits.MaxValidationSplit)
        {
            v.Add($"spec.validation_split must be between 0 and {Show(SpecLimits.MaxValidationSplit)}; it is {Show(s.ValidationSplit)}.");
        }
    }

    private static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);

}
