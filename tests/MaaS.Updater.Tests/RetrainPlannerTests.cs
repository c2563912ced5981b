using MaaS.Registry.V1;
using MaaS.Updater.Gate;
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

    [Theory]
    [InlineData(1.0, 0.5, 0.0, true)]
    [InlineData(1.0, 0.95, 0.1, false)]
    [InlineData(1.0, 1.0, 0.0, false)]
    [InlineData(1.0, 1.2, 0.0, false)]
    public void Decide_Scores_PromotesOnlyWhenMarginIsBeaten(double champion, double challenger, double margin, bool promoted)
    {
        var decision = ChampionChallengerGate.Decide(champion, challenger, margin, rows: 20);

        Assert.Equal(promoted, decision.Promoted);
        Assert.Contains("20 held-out rows", decision.Reason);
    }
}
