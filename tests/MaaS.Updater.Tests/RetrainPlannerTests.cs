using MaaS.Registry.V1;
using MaaS.Updater.Retraining;

namespace MaaS.Updater.Tests;

public class RetrainPlannerTests
{
    [Fact]
    public void Split_HundredRowsTwentyPercent_HoldsOutTwentyAndKeepsEveryRowOnce()
    {
        var rows = Enumerable.Range(0, 100).Select(i => new double[] { i, 2 * i + 1 }).ToList();

        var (train, holdout) = RetrainPlanner.Split(rows, 0.2, seed: 7);

        Assert.Equal(20, holdout.Count);
        Assert.Equal(80, train.Count);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (double)i), train.Concat(holdout).Select(r => r[0]).Order());
    }

    [Fact]
    public void Split_SameSeed_SameSplit()
    {
        var rows = Enumerable.Range(0, 50).Select(i => new double[] { i, i }).ToList();

        var a = RetrainPlanner.Split(rows, 0.3, seed: 3).Holdout.Select(r => r[0]);
        var b = RetrainPlanner.Split(rows, 0.3, seed: 3).Holdout.Select(r => r[0]);

        Assert.Equal(a, b);
    }

    [Fact]
    public void BuildCommand_Champion_CopiesSpecAndWarmStartsFromIt()
    {
        var champion = new ModelVersion { ModelName = "m", Version = 4 };
        champion.Hyperparameters.Add(new Dictionary<string, string>
        {
            ["epochs"] = "250", ["learning_rate"] = "0.05", ["seed"] = "9", ["feature_columns"] = "a,b", ["label_column"] = "y",
            ["architecture"] = "mlp", ["hidden_sizes"] = "16,8", ["activation"] = "tanh", ["optimizer"] = "adam",
            ["batch_size"] = "32", ["standardize"] = "true",
        });
        var columns = ChampionColumns.From(champion)!;

        var command = RetrainPlanner.BuildCommand("m", champion, columns, new DatasetVersion { Name = "m-retrain", Version = 3 }, "job-1");

        Assert.Equal(4, command.WarmStartVersion);
        Assert.Equal(250, command.Epochs);
        Assert.Equal(0.05, command.LearningRate);
        Assert.Equal(9, command.Seed);
        Assert.Equal(["a", "b"], command.FeatureColumns);
        Assert.Equal("y", command.LabelColumn);
        Assert.Equal(("m-retrain", 3L), (command.DatasetName, command.DatasetVersion));
        Assert.Equal("job-1", command.CorrelationId);
        Assert.Equal(("mlp", "adam", "tanh"), (command.Architecture, command.Optimizer, command.Activation));
        Assert.Equal([16, 8], command.HiddenSizes);
        Assert.Equal(32, command.BatchSize);
        Assert.True(command.Standardize);
    }

    [Fact]
    public void BuildCommand_Champion_CopiesValidationSplit()
    {
        var champion = new ModelVersion { ModelName = "m", Version = 2 };
        champion.Hyperparameters.Add(new Dictionary<string, string> { ["feature_columns"] = "a", ["label_column"] = "y", ["validation_split"] = "0.25" });

        var command = RetrainPlanner.BuildCommand("m", champion, ChampionColumns.From(champion)!, new DatasetVersion { Name = "d", Version = 1 }, "job");

        Assert.Equal(0.25, command.ValidationSplit);
    }

    [Fact]
    public void Plan_NewRows_HoldoutFromNewRowsAndTrainingIsChampionsPlusRest()
    {
        var champion = Rows(0, 30);
        var fresh = Rows(100, 10);

        var plan = RetrainPlanner.Plan(champion, fresh, 0.2, window: 0);

        Assert.Equal("new_rows", plan.HoldoutFrom);
        Assert.Equal(2, plan.Holdout.Count);
        Assert.All(plan.Holdout, r => Assert.True(r[0] >= 100));
        Assert.Equal(38, plan.Training.Count);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (double)i), plan.Training.Take(30).Select(r => r[0]));
    }

    [Fact]
    public void Plan_Window_KeepsNewestTrainingRows()
    {
        var plan = RetrainPlanner.Plan(Rows(0, 30), Rows(100, 10), 0.2, window: 12);

        Assert.Equal(12, plan.Training.Count);
        // The 8 new training rows and the 4 newest of the champion's.
        Assert.Equal([26.0, 27, 28, 29], plan.Training.Take(4).Select(r => r[0]));
        Assert.All(plan.Training.Skip(4), r => Assert.True(r[0] >= 100));
    }

    [Fact]
    public void Plan_NoNewRows_HoldoutFromAllRows()
    {
        var plan = RetrainPlanner.Plan(Rows(0, 20), [], 0.25, window: 0);

        Assert.Equal("all_rows", plan.HoldoutFrom);
        Assert.Equal((15, 5), (plan.Training.Count, plan.Holdout.Count));
    }

    [Fact]
    public void Plan_NothingToTrainOn_FailedPrecondition()
    {
        var ex = Assert.Throws<Grpc.Core.RpcException>(() => RetrainPlanner.Plan([], [[1.0, 2.0]], 0.2, window: 0));

        Assert.Equal(Grpc.Core.StatusCode.FailedPrecondition, ex.StatusCode);
    }

    private static List<double[]> Rows(int from, int count) => Enumerable.Range(from, count).Select(i => new double[] { i, 2 * i }).ToList();
}
