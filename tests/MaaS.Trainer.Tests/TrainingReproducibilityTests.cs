using MaaS.Trainer.Jobs;
using MaaS.Trainer.Tests.Support;
using MaaS.Trainer.Training;
using MaaS.Trainer.V1;

namespace MaaS.Trainer.Tests;

public sealed class TrainingReproducibilityTests
{
    [Fact]
    public void Train_SameSpecDataAndSeedTwice_BitIdenticalOnnx()
    {
        var data = MaaS.MarketModels.SyntheticData.TwoMoons(rows: 200, noise: 0.15, seed: 1);
        var spec = TestData.Classifier("binary_classification", "mlp", 30, 8, 8);

        var first = Models.Trainer().Train(data, spec);
        var second = Models.Trainer().Train(data, spec);

        Assert.Equal(first.Onnx, second.Onnx);
        Assert.Equal(first.Checkpoint, second.Checkpoint);
    }

    [Theory]
    [InlineData("sgd", "linear_regression")]
    [InlineData("adam", "linear_regression")]
    [InlineData("adam", "mlp")]
    public void Train_ResumedFromCheckpoint_EqualsUninterruptedBitForBit(string optimizer, string architecture)
    {
        var data = TestData.Line(2, 1);
        TrainingSpec Spec(int epochs) => new()
        {
            ModelName = "resume",
            DatasetName = "line",
            LabelColumn = "y",
            Architecture = architecture,
            HiddenSizes = { architecture == "mlp" ? [4] : Array.Empty<int>() },
            Optimizer = optimizer,
            Momentum = optimizer == "sgd" ? 0.9 : 0,
            LearningRate = 0.01,
            Epochs = epochs,
            Seed = 3,
        };

        var whole = Models.Trainer().Train(data, Spec(50));
        var part = Models.Trainer().Train(data, Spec(30));
        var resumedSpec = Spec(20);
        resumedSpec.WarmStartVersion = 1;
        var resumed = Models.Trainer().Train(data, resumedSpec, part.Network, checkpoint: part.Checkpoint);

        Assert.Equal(whole.Network.Layers.Select(l => l.Weight), resumed.Network.Layers.Select(l => l.Weight));
        Assert.Equal(whole.Network.Layers.Select(l => l.Bias), resumed.Network.Layers.Select(l => l.Bias));
        // Without the optimizer state (the ONNX-only warm start) Adam and momentum start over and drift.
        var fromOnnx = Models.Trainer().Train(data, resumedSpec, part.Network);
        Assert.NotEqual(whole.Network.Layers[0].Weight, fromOnnx.Network.Layers[0].Weight);
    }

    [Fact]
    public void Train_DivergingLearningRate_FailsNamingDivergence()
    {
        var ex = Assert.Throws<TrainingFailedException>(() =>
            Models.Trainer().Train(TestData.Line(1000, 0), TestData.Spec(learningRate: 10)));

        Assert.Contains("diverged", ex.Message);
    }

    [Fact]
    public void ProgressThrottle_ReportsWithinOneSecond_OnlyFirstAndFinalPass()
    {
        var throttle = new ProgressThrottle(TimeSpan.FromSeconds(1));
        var t0 = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

        var taken = new[]
        {
            throttle.Take(t0, final: false),
            throttle.Take(t0.AddMilliseconds(300), final: false),
            throttle.Take(t0.AddMilliseconds(999), final: false),
            throttle.Take(t0.AddMilliseconds(1000), final: false),
            throttle.Take(t0.AddMilliseconds(1200), final: false),
            throttle.Take(t0.AddMilliseconds(1300), final: true),
        };

        Assert.Equal([true, false, false, true, false, true], taken);
    }
}
