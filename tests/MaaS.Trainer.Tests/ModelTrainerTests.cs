using MaaS.MarketModels;
using MaaS.Onnx.Export;
using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.Tests.Support;
using MaaS.Trainer.Training;
using MaaS.Trainer.V1;

namespace MaaS.Trainer.Tests;

public sealed class ModelTrainerTests
{
    private static NumericTable Moons() => SyntheticData.TwoMoons(rows: 400, noise: 0.15, seed: 42);

    private static NumericTable Blobs() => SyntheticData.Blobs(rowsPerClass: 100, centres: [(-2.5, 0), (2.5, 0), (0, 3.5)], spread: 0.8, seed: 42);

    private static TrainingSpec MoonsSpec(int epochs = 150)
    {
        var spec = TestData.Classifier("binary_classification", "mlp", epochs, 16, 16);
        spec.Activation = "tanh";
        return spec;
    }

    [Fact]
    public void Train_LogisticRegressionOnSeparableData_AccuracyAtLeast95Percent()
    {
        var model = Models.Trainer().Train(TestData.Separable(), TestData.Classifier("binary_classification", "logistic_regression", epochs: 50));

        Assert.InRange(model.Metrics["val_accuracy"], 0.95, 1);
        Assert.InRange(model.Metrics["train_accuracy"], 0.95, 1);
        Assert.InRange(model.Metrics["val_log_loss"], 0, 0.2);
        Assert.Equal(["0", "1"], model.Classes!.Names);
        Assert.Equal(DenseHead.Sigmoid, model.Network.Head);
    }

    [Fact]
    public void Train_MlpOnTwoMoons_ValidationAccuracyAtLeast95Percent()
    {
        var model = Models.Trainer().Train(Moons(), MoonsSpec());

        Assert.InRange(model.Metrics["val_accuracy"], 0.95, 1);
        Assert.InRange(model.Metrics["val_f1_macro"], 0.95, 1);
        Assert.InRange(model.Metrics["val_precision_macro"], 0.95, 1);
        Assert.InRange(model.Metrics["val_recall_macro"], 0.95, 1);
        Assert.Equal("2→16 tanh, 16→16 tanh, 16→1", model.Network.Describe());
    }

    [Theory]
    [InlineData("logistic_regression")]
    [InlineData("mlp")]
    public void Train_MulticlassOnThreeBlobs_ValidationAccuracyAtLeast95Percent(string architecture)
    {
        var spec = TestData.Classifier("multiclass_classification", architecture, epochs: 60, hidden: architecture == "mlp" ? [8] : []);
        spec.ClassNames.Add(["west", "east", "north"]);

        var model = Models.Trainer().Train(Blobs(), spec);

        Assert.InRange(model.Metrics["val_accuracy"], 0.95, 1);
        Assert.InRange(model.Metrics["val_f1_macro"], 0.95, 1);
        Assert.Equal(["west", "east", "north"], model.Classes!.Names);
        Assert.Equal(3, model.Network.Outputs);
    }

    [Fact]
    public void Train_BinaryClassifier_OnnxProbabilitiesAndLabelsMatchTorchSharp()
    {
        var table = Moons();
        var model = Models.Trainer().Train(table, MoonsSpec(epochs: 30));

        var x = table.ToFloatMatrix(model.FeatureColumns);
        var (output, label, shape) = Models.RunClassifier(model.Onnx, x, table.Rows.Count, 2);

        Assert.Equal([table.Rows.Count, 1L], shape);
        Assert.InRange(MaxDiff(output, model.TorchPredictions), 0, 1e-5);
        Assert.Equal(model.TorchLabels, label);
        Assert.All(output.Zip(label), p => Assert.Equal(p.First >= 0.5f ? 1L : 0L, p.Second));
        Assert.InRange(model.Metrics["export_max_abs_diff"], 0, 1e-5);
    }

    [Fact]
    public void Train_MulticlassClassifier_OnnxSoftmaxAndArgMaxMatchTorchSharp()
    {
        var table = Blobs();
        var model = Models.Trainer().Train(table, TestData.Classifier("multiclass_classification", "mlp", epochs: 20, hidden: 8));

        var (output, label, shape) = Models.RunClassifier(model.Onnx, table.ToFloatMatrix(model.FeatureColumns), table.Rows.Count, 2);

        Assert.Equal([table.Rows.Count, 1L], shape);
        Assert.Equal(table.Rows.Count * 3, output.Length);
        Assert.InRange(MaxDiff(output, model.TorchPredictions), 0, 1e-5);
        Assert.Equal(model.TorchLabels, label);
        for (var r = 0; r < table.Rows.Count; r++)
        {
            var row = output[(r * 3)..(r * 3 + 3)];
            Assert.Equal(1f, row.Sum(), 1e-5f);
            Assert.Equal(Array.IndexOf(row, row.Max()), label[r]);
        }
    }

    [Fact]
    public void Train_Standardize_GraphStartsWithSubDivOfTrainingStatisticsAndTakesRawFeatures()
    {
        // Features in the thousands: without standardisation inside the graph a client would have to scale them itself.
        var random = new Random(3);
        var rows = Enumerable.Range(0, 120).Select(_ =>
        {
            var a = 1000 + 1000 * random.NextDouble();
            var b = 0.001 * random.NextDouble();
            return new[] { a, b, 0.002 * a - 300 * b + 0.05 * random.NextDouble() };
        }).ToList();
        var table = new NumericTable(["a", "b", "y"], rows);
        var spec = new TrainingSpec
        {
            ModelName = "scaled", DatasetName = "scaled", LabelColumn = "y", Architecture = "mlp", HiddenSizes = { 8 },
            Optimizer = "adam", LearningRate = 0.03, Epochs = 300, ValidationSplit = 0.25, Seed = 1,
        };

        var model = Models.Trainer().Train(table, spec);

        var graph = global::Onnx.ModelProto.Parser.ParseFrom(model.Onnx).Graph;
        Assert.Equal(["Sub", "Div", "Gemm", "Relu", "Gemm"], graph.Node.Select(n => n.OpType));
        var scaler = model.Network.Standardization!;
        Assert.Equal(scaler.Mean, graph.Initializer.Single(i => i.Name == "scaler.mean").FloatData);
        Assert.Equal(scaler.Scale, graph.Initializer.Single(i => i.Name == "scaler.scale").FloatData);
        Assert.InRange(scaler.Mean[0], 1300, 1700); // the training rows' mean of a, not 0 and not 1
        var raw = table.ToFloatMatrix(["a", "b"]);
        Assert.InRange(MaxDiff(Models.Run(model.Onnx, raw, rows.Count, 2), model.TorchPredictions), 0, 1e-5);

        // The same layers without the scaler, fed features standardised by hand, give the same answers.
        var bare = DenseNetworkExporter.Export(model.Network.Layers, new DenseNetworkOptions());
        var scaled = raw.Select((v, i) => (v - scaler.Mean[i % 2]) / scaler.Scale[i % 2]).ToArray();
        Assert.InRange(MaxDiff(Models.Run(bare, scaled, rows.Count, 2), Models.Run(model.Onnx, raw, rows.Count, 2)), 0, 1e-5);
        Assert.InRange(model.Metrics["val_r2"], 0.9, 1);
    }

    [Theory]
    [InlineData("gd", 0.0)]
    [InlineData("sgd", 0.0)]
    [InlineData("sgd", 0.9)]
    [InlineData("adam", 0.0)]
    [InlineData("adamw", 0.0)]
    public void Train_EachOptimizer_DecreasesTheLoss(string optimizer, double momentum)
    {
        var spec = TestData.Spec(epochs: 40, learningRate: 0.05);
        spec.Architecture = "mlp";
        spec.HiddenSizes.Add(8);
        spec.Optimizer = optimizer;
        spec.Momentum = momentum;
        spec.WeightDecay = optimizer == "adamw" ? 0.01 : 0;
        spec.BatchSize = optimizer == "gd" ? 0 : 16;
        var losses = new List<double>();

        var model = Models.Trainer().Train(TestData.Line(2, 1), spec, progress: p => losses.Add(p.TrainLoss));

        Assert.Equal(40, losses.Count);
        Assert.True(losses[^1] < losses[0] / 2, $"{optimizer}: loss went from {losses[0]} to {losses[^1]}");
        Assert.True(model.Metrics["train_mse"] < losses[0]);
    }

    [Theory]
    [InlineData("mse")]
    [InlineData("mae")]
    [InlineData("huber")]
    public void Train_EachRegressionLoss_FitsTheLine(string loss)
    {
        var spec = TestData.Spec(epochs: 300, learningRate: 0.05);
        spec.Loss = loss;
        spec.Optimizer = "adam";
        spec.ValidationSplit = 0.2;

        var model = Models.Trainer().Train(TestData.Line(2, 1), spec);

        Assert.InRange(model.Metrics["val_r2"], 0.95, 1);
        Assert.InRange(model.Weights.Weight[0], 1.8, 2.2);
    }

    [Fact]
    public void Train_MiniBatchesAndSplitWithSameSeed_IdenticalWeights_OtherSeedDiffers()
    {
        var spec = MoonsSpec(epochs: 5);

        var a = Models.Trainer().Train(Moons(), spec);
        var b = Models.Trainer().Train(Moons(), spec);
        spec.Seed = 43;
        var c = Models.Trainer().Train(Moons(), spec);

        Assert.Equal(a.Onnx, b.Onnx);
        Assert.Equal(a.Metrics, b.Metrics);
        Assert.NotEqual(a.Network.Layers[0].Weight, c.Network.Layers[0].Weight);
    }

    [Fact]
    public void Train_ValidationSplit_ReportsBothSplitsMetrics()
    {
        var spec = TestData.Spec(epochs: 200);
        spec.ValidationSplit = 0.2;

        var model = Models.Trainer().Train(TestData.Line(2, 1), spec);

        foreach (var key in new[] { "train_mse", "train_mae", "train_r2", "r2", "val_mse", "val_mae", "val_r2", "train_loss", "export_max_abs_diff" })
        {
            Assert.True(model.Metrics.ContainsKey(key), key);
        }
        Assert.InRange(model.Metrics["val_mse"], 0, 0.05);
    }

    [Fact]
    public void Train_ClassLabelValues_MappedInAscendingOrderToNames()
    {
        var source = TestData.Separable(rows: 100);
        var table = new NumericTable(source.Columns, source.Rows.Select(r => new[] { r[0], r[1], r[2] == 0 ? 7 : 3 }).ToList());
        var spec = TestData.Classifier("binary_classification", "logistic_regression", epochs: 30);
        spec.ClassNames.Add(["three", "seven"]);

        var model = Models.Trainer().Train(table, spec);

        Assert.Equal([3.0, 7.0], model.Classes!.Values);
        // Label 3 (class index 0) is the cloud around (2, 2).
        var (_, label, _) = Models.RunClassifier(model.Onnx, [2f, 2f, -2f, -2f], 2, 2);
        Assert.Equal([0L, 1L], label);
    }

    [Fact]
    public void Train_EarlyStopping_StopsAfterPatienceWithoutImprovement()
    {
        var spec = TestData.Spec(epochs: 500);
        spec.ValidationSplit = 0.2;
        spec.EarlyStoppingPatience = 3;
        spec.EarlyStoppingMinDelta = 1e9; // nothing after the first epoch counts as better

        var model = Models.Trainer().Train(TestData.Line(2, 1), spec);

        Assert.Equal(4, model.EpochsRun);
        Assert.Equal(4, model.Metrics["epochs_run"]);
    }

    [Theory]
    [InlineData("step")]
    [InlineData("cosine")]
    public void Train_LearningRateSchedule_StillFitsTheLine(string schedule)
    {
        var spec = TestData.Spec(epochs: 1000);
        spec.LrSchedule = schedule;
        if (schedule == "step")
        {
            spec.LrStepEpochs = 400;
            spec.LrGamma = 0.5;
        }

        var model = Models.Trainer().Train(TestData.Line(2, 1), spec);

        Assert.InRange(model.Weights.Weight[0], 1.9, 2.1);
    }

    [Fact]
    public void Train_MlpWarmStartFromItsOnnxWithTinySteps_KeepsWeightsAndStandardisation()
    {
        var first = Models.Trainer().Train(Moons(), MoonsSpec(epochs: 20));
        var parent = NetworkWeights.From(DenseNetworkReader.Read(first.Onnx));
        var spec = MoonsSpec(epochs: 1);
        spec.LearningRate = 1e-9;

        var model = Models.Trainer().Train(SyntheticData.TwoMoons(rows: 200, noise: 0.2, seed: 9), spec, warmStart: parent);

        Assert.Equal(first.Network.Standardization!.Mean, model.Network.Standardization!.Mean);
        for (var l = 0; l < 3; l++)
        {
            Assert.InRange(MaxDiff(model.Network.Layers[l].Weight, first.Network.Layers[l].Weight), 0, 1e-5);
        }
    }

    [Fact]
    public void Train_MlpWarmStartWithOtherHiddenSizes_FailsNamingBothShapes()
    {
        var first = Models.Trainer().Train(Moons(), MoonsSpec(epochs: 2));
        var spec = TestData.Classifier("binary_classification", "mlp", epochs: 2, hidden: 8);

        var ex = Assert.Throws<TrainingFailedException>(() =>
            Models.Trainer().Train(Moons(), spec, warmStart: NetworkWeights.From(DenseNetworkReader.Read(first.Onnx))));

        Assert.Contains("2→16 tanh, 16→16 tanh, 16→1", ex.Message);
        Assert.Contains("2→8 relu, 8→1", ex.Message);
    }

    [Fact]
    public void Train_BinaryTaskWithThreeLabelValues_FailsSuggestingMulticlass()
    {
        var ex = Assert.Throws<TrainingFailedException>(() =>
            Models.Trainer().Train(Blobs(), TestData.Classifier("binary_classification", "logistic_regression", epochs: 1)));

        Assert.Contains("multiclass_classification", ex.Message);
    }

    [Fact]
    public void Train_FractionalClassLabel_FailsNamingTheRow()
    {
        var table = new NumericTable(["x1", "x2", "label"], [[0, 0, 0], [1, 1, 1], [2, 2, 0.5]]);
        var spec = TestData.Classifier("binary_classification", "logistic_regression", epochs: 1);
        spec.BatchSize = 0;

        var ex = Assert.Throws<TrainingFailedException>(() => Models.Trainer().Train(table, spec));

        Assert.Contains("row 3", ex.Message);
    }

    [Fact]
    public void Train_ClassNamesOfWrongCount_FailsNamingTheField()
    {
        var spec = TestData.Classifier("multiclass_classification", "logistic_regression", epochs: 1);
        spec.ClassNames.Add(["a", "b"]);

        var ex = Assert.Throws<TrainingFailedException>(() => Models.Trainer().Train(Blobs(), spec));

        Assert.Contains("spec.class_names", ex.Message);
    }

    [Fact]
    public void Train_BatchLargerThanTrainingRows_FailsNamingBatchSize()
    {
        var spec = TestData.Spec(epochs: 1);
        spec.BatchSize = 90;
        spec.ValidationSplit = 0.2;

        var ex = Assert.Throws<TrainingFailedException>(() => Models.Trainer().Train(TestData.Line(2, 1), spec));

        Assert.Contains("spec.batch_size", ex.Message);
        Assert.Contains("80 training rows", ex.Message);
    }

    private static double MaxDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs((double)x - y)).DefaultIfEmpty(0).Max();
    }
}
