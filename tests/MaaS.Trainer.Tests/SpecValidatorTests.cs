using MaaS.Trainer.Jobs;
using MaaS.Trainer.Tests.Support;
using MaaS.Trainer.V1;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Tests;

public sealed class SpecValidatorTests
{
    private static readonly SpecValidator Validator = new(Options.Create(new TrainerOptions()));

    [Theory]
    [InlineData("unknown task", "spec.task")]
    [InlineData("regression with logistic_regression", "spec.task")]
    [InlineData("classification with linear_regression", "spec.task")]
    [InlineData("cross_entropy for regression", "spec.loss")]
    [InlineData("mse for binary", "spec.loss")]
    [InlineData("binary_cross_entropy for multiclass", "spec.loss")]
    [InlineData("unknown loss", "spec.loss")]
    [InlineData("mlp without hidden sizes", "spec.hidden_sizes")]
    [InlineData("hidden size 0", "spec.hidden_sizes")]
    [InlineData("hidden size 5000", "spec.hidden_sizes")]
    [InlineData("nine hidden layers", "spec.hidden_sizes")]
    [InlineData("hidden sizes on linear", "spec.hidden_sizes")]
    [InlineData("unknown activation", "spec.activation")]
    [InlineData("activation on linear", "spec.activation")]
    [InlineData("unknown optimizer", "spec.optimizer")]
    [InlineData("momentum 1", "spec.momentum")]
    [InlineData("negative momentum", "spec.momentum")]
    [InlineData("momentum with adam", "spec.momentum")]
    [InlineData("negative weight decay", "spec.weight_decay")]
    [InlineData("weight decay 2", "spec.weight_decay")]
    [InlineData("NaN weight decay", "spec.weight_decay")]
    [InlineData("negative batch size", "spec.batch_size")]
    [InlineData("gd with a batch size", "spec.batch_size")]
    [InlineData("validation split 0.6", "spec.validation_split")]
    [InlineData("negative validation split", "spec.validation_split")]
    [InlineData("NaN validation split", "spec.validation_split")]
    [InlineData("negative huber delta", "spec.huber_delta")]
    [InlineData("huber delta with mse", "spec.huber_delta")]
    [InlineData("class names for regression", "spec.class_names")]
    [InlineData("class name twice", "spec.class_names")]
    [InlineData("class name with a comma", "spec.class_names")]
    [InlineData("unknown schedule", "spec.lr_schedule")]
    [InlineData("step without step epochs", "spec.lr_step_epochs")]
    [InlineData("step gamma 2", "spec.lr_gamma")]
    [InlineData("gamma without step", "spec.lr_gamma")]
    [InlineData("negative patience", "spec.early_stopping_patience")]
    [InlineData("patience without validation", "spec.early_stopping_patience")]
    [InlineData("negative min delta", "spec.early_stopping_min_delta")]
    [InlineData("unknown device", "spec.device")]
    public void Validate_BadNewField_ViolationNamesTheField(string problem, string field)
    {
        var spec = TestData.Spec();
        Break(spec, problem);

        var (_, violations) = Validator.Validate(spec);

        var violation = Assert.Single(violations);
        Assert.StartsWith(field + " ", violation);
    }

    [Fact]
    public void Validate_EmptySettings_FillsTheSeedJobsDefaults()
    {
        var (spec, violations) = Validator.Validate(TestData.Spec());

        Assert.Empty(violations);
        Assert.Equal(("linear_regression", "regression", "mse", "sgd"), (spec.Architecture, spec.Task, spec.Loss, spec.Optimizer));
        Assert.False(spec.Standardize);
        Assert.Equal(("constant", "cpu", 0), (spec.LrSchedule, spec.Device, spec.BatchSize));
    }

    [Theory]
    [InlineData("logistic_regression", "", "binary_classification", "binary_cross_entropy")]
    [InlineData("logistic_regression", "multiclass_classification", "multiclass_classification", "cross_entropy")]
    [InlineData("mlp", "binary_classification", "binary_classification", "binary_cross_entropy")]
    public void Validate_ClassifierWithoutLoss_GetsTheTasksLossAndStandardisation(string architecture, string task, string expectedTask, string expectedLoss)
    {
        var input = TestData.Spec();
        input.Architecture = architecture;
        input.Task = task;
        if (architecture == "mlp") input.HiddenSizes.Add(4);

        var (spec, violations) = Validator.Validate(input);

        Assert.Empty(violations);
        Assert.Equal((expectedTask, expectedLoss), (spec.Task, spec.Loss));
        Assert.True(spec.Standardize);
        Assert.Equal(architecture == "mlp" ? "relu" : "", spec.Activation);
    }

    [Fact]
    public void Validate_StandardizeSetFalseOnMlp_IsKept()
    {
        var input = TestData.Spec();
        input.Architecture = "mlp";
        input.HiddenSizes.Add(4);
        input.Standardize = false;

        Assert.False(Validator.Validate(input).Spec.Standardize);
    }

    [Fact]
    public void Unsupported_Cuda_SaysTheBuildHasNoCudaLibtorch()
    {
        var spec = TestData.Spec();
        spec.Device = "cuda";

        var (normalized, violations) = Validator.Validate(spec);

        Assert.Empty(violations);
        Assert.Contains("libtorch-cpu only", SpecValidator.Unsupported(normalized));
    }

    private static void Break(TrainingSpec s, string problem)
    {
        void Mlp(params int[] hidden)
        {
            s.Architecture = "mlp";
            s.HiddenSizes.Add(hidden);
        }
        switch (problem)
        {
            case "unknown task": s.Task = "clustering"; break;
            case "regression with logistic_regression": s.Architecture = "logistic_regression"; s.Task = "regression"; break;
            case "classification with linear_regression": s.Task = "binary_classification"; break;
            case "cross_entropy for regression": s.Loss = "cross_entropy"; break;
            case "mse for binary": s.Architecture = "logistic_regression"; s.Loss = "mse"; break;
            case "binary_cross_entropy for multiclass": s.Architecture = "logistic_regression"; s.Task = "multiclass_classification"; s.Loss = "binary_cross_entropy"; break;
            case "unknown loss": s.Loss = "hinge"; break;
            case "mlp without hidden sizes": Mlp(); break;
            case "hidden size 0": Mlp(8, 0); break;
            case "hidden size 5000": Mlp(5000); break;
            case "nine hidden layers": Mlp(4, 4, 4, 4, 4, 4, 4, 4, 4); break;
            case "hidden sizes on linear": s.HiddenSizes.Add(4); break;
            case "unknown activation": Mlp(4); s.Activation = "gelu"; break;
            case "activation on linear": s.Activation = "relu"; break;
            case "unknown optimizer": s.Optimizer = "rmsprop"; break;
            case "momentum 1": s.Momentum = 1; break;
            case "negative momentum": s.Momentum = -0.1; break;
            case "momentum with adam": s.Optimizer = "adam"; s.Momentum = 0.9; break;
            case "negative weight decay": s.WeightDecay = -0.01; break;
            case "weight decay 2": s.WeightDecay = 2; break;
            case "NaN weight decay": s.WeightDecay = double.NaN; break;
            case "negative batch size": s.BatchSize = -1; break;
            case "gd with a batch size": s.Optimizer = "gd"; s.BatchSize = 16; break;
            case "validation split 0.6": s.ValidationSplit = 0.6; break;
            case "negative validation split": s.ValidationSplit = -0.1; break;
            case "NaN validation split": s.ValidationSplit = double.NaN; break;
            case "negative huber delta": s.Loss = "huber"; s.HuberDelta = -1; break;
            case "huber delta with mse": s.HuberDelta = 2; break;
            case "class names for regression": s.ClassNames.Add(["a", "b"]); break;
            case "class name twice": s.Architecture = "logistic_regression"; s.ClassNames.Add(["a", "a"]); break;
            case "class name with a comma": s.Architecture = "logistic_regression"; s.ClassNames.Add(["a,b", "c"]); break;
            case "unknown schedule": s.LrSchedule = "linear"; break;
            case "step without step epochs": s.LrSchedule = "step"; break;
            case "step gamma 2": s.LrSchedule = "step"; s.LrStepEpochs = 10; s.LrGamma = 2; break;
            case "gamma without step": s.LrGamma = 0.5; break;
            case "negative patience": s.EarlyStoppingPatience = -1; break;
            case "patience without validation": s.EarlyStoppingPatience = 5; break;
            case "negative min delta": s.EarlyStoppingMinDelta = -1; break;
            case "unknown device": s.Device = "tpu"; break;
            default: throw new ArgumentOutOfRangeException(nameof(problem), problem, "No such case.");
        }
    }
}
