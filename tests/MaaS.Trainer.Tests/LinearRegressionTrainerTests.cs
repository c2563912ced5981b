using MaaS.Onnx;
using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.Tests.Support;
using MaaS.Trainer.Training;

namespace MaaS.Trainer.Tests;

public sealed class LinearRegressionTrainerTests
{
    [Fact]
    public void Train_NoisyLine_RecoversSlopeAndIntercept()
    {
        var table = TestData.Line(slope: 2, intercept: 1);

        var model = Models.Trainer().Train(table, TestData.Spec());

        Assert.Equal(["x"], model.FeatureColumns);
        Assert.InRange(model.Weights.Weight[0], 2 - 0.05, 2 + 0.05);
        Assert.InRange(model.Weights.Bias, 1 - 0.1, 1 + 0.1);
        Assert.InRange(model.Metrics["train_mse"], 0, 0.05);
        Assert.InRange(model.Metrics["r2"], 0.95, 1);
        Assert.True(model.Metrics.ContainsKey("train_mae"));
    }

    [Fact]
    public void Train_ExportedOnnx_OnnxRuntimeMatchesTorchSharpWithin1e5()
    {
        var table = TestData.Line(slope: 2, intercept: 1);

        var model = Models.Trainer().Train(table, TestData.Spec());

        using var session = Models.Sessions.Create(model.Onnx);
        var features = table.ToFloatMatrix(["x"]);
        var onnx = DenseModelRunner.Predict(session.Session, features, table.Rows.Count, 1);
        Assert.Equal(table.Rows.Count, onnx.Length);
        var maxDiff = onnx.Zip(model.TorchPredictions, (a, b) => Math.Abs((double)a - b)).Max();
        Assert.InRange(maxDiff, 0, 1e-5);
        Assert.InRange(model.Metrics["export_max_abs_diff"], 0, 1e-5);
    }

    [Fact]
    public void Train_WarmStartFrom2xPlus1On3xPlus1Data_EndsNear3()
    {
        var first = Models.Trainer().Train(TestData.Line(2, 1), TestData.Spec());
        // Through the ONNX bytes, as a job reads its parent version from the registry.
        var parent = LinearOnnxReader.Read(first.Onnx);

        var model = Models.Trainer().Train(TestData.Line(3, 1, seed: 11), TestData.Spec(), warmStart: parent);

        Assert.InRange(model.Weights.Weight[0], 3 - 0.05, 3 + 0.05);
        Assert.InRange(model.Weights.Bias, 1 - 0.1, 1 + 0.1);
    }

    [Fact]
    public void Train_WarmStartWithTinySteps_StaysAtTheGivenWeights()
    {
        var start = new LinearWeights([2f], 1f);

        var model = Models.Trainer().Train(TestData.Line(3, 1), TestData.Spec(epochs: 1, learningRate: 1e-6), warmStart: start);

        Assert.InRange(model.Weights.Weight[0], 2 - 1e-3, 2 + 1e-3);
        Assert.InRange(model.Weights.Bias, 1 - 1e-3, 1 + 1e-3);
    }

    [Fact]
    public void Train_SameSeedTwice_SameWeights()
    {
        var table = TestData.Line(2, 1);

        var a = Models.Trainer().Train(table, TestData.Spec(epochs: 10));
        var b = Models.Trainer().Train(table, TestData.Spec(epochs: 10));

        Assert.Equal(a.Weights.Weight, b.Weights.Weight);
        Assert.Equal(a.Weights.Bias, b.Weights.Bias);
    }

    [Fact]
    public void Train_MissingFeatureColumn_FailsNamingIt()
    {
        var spec = TestData.Spec();
        spec.FeatureColumns.Add("pressure");

        var ex = Assert.Throws<TrainingFailedException>(() => Models.Trainer().Train(TestData.Line(2, 1), spec));

        Assert.Contains("'pressure'", ex.Message);
    }

    [Fact]
    public void Train_MissingLabelColumn_FailsNamingIt()
    {
        var spec = TestData.Spec();
        spec.LabelColumn = "price";

        var ex = Assert.Throws<TrainingFailedException>(() => Models.Trainer().Train(TestData.Line(2, 1), spec));

        Assert.Contains("'price'", ex.Message);
    }

    [Fact]
    public void Train_WarmStartWithOtherFeatureCount_Fails()
    {
        var ex = Assert.Throws<TrainingFailedException>(() =>
            Models.Trainer().Train(TestData.Line(2, 1), TestData.Spec(), warmStart: new LinearWeights([1f, 2f], 0f)));

        Assert.Contains("2 feature(s)", ex.Message);
    }

    [Fact]
    public void Train_TooLargeLearningRate_FailsAsDiverged()
    {
        var rows = Enumerable.Range(0, 50).Select(i => new double[] { i * 10, i * 20 }).ToList();
        var table = new NumericTable(["x", "y"], rows);

        var ex = Assert.Throws<TrainingFailedException>(() => Models.Trainer().Train(table, TestData.Spec(learningRate: 10)));

        Assert.Contains("diverged", ex.Message);
    }

    [Fact]
    public void Train_NoRows_Fails()
    {
        var table = new NumericTable(["x", "y"], []);

        var ex = Assert.Throws<TrainingFailedException>(() => Models.Trainer().Train(table, TestData.Spec()));

        Assert.Contains("no rows", ex.Message);
    }
}
