using MaaS.Updater.Gate;

namespace MaaS.Updater.Tests;

public class GateTests
{
    private static readonly ModelTask Regression = new(ModelTask.Regression, []);
    private static readonly ModelTask Binary = new(ModelTask.Binary, [0, 1]);

    [Theory]
    [InlineData("mse", 1.5)]
    [InlineData("mae", 1.0)]
    [InlineData("r2", -0.2)]
    public void Score_RegressionKnownData_ExactValues(string metric, double expected)
    {
        // Labels 1,2,3,4 (mean 2.5, sum of squares around it 5); errors 1,-1,2,0 → mse 6/4, mae 4/4, r2 = 1 - 6/5.
        float[] outputs = [2, 1, 5, 4];
        double[] labels = [1, 2, 3, 4];

        var score = GateMetrics.Score(metric, outputs, 1, labels, Regression);

        Assert.Equal(expected, score.Value, 10);
        Assert.Equal(4, score.Rows);
    }

    [Fact]
    public void Score_BinaryProbabilities_AccuracyF1AndLogLoss()
    {
        // p(class 1) per row; truths 1,0,1,0 → predictions 1,0,0,0: 3 of 4 right.
        float[] p = [0.9f, 0.2f, 0.4f, 0.1f];
        double[] labels = [1, 0, 1, 0];

        var accuracy = GateMetrics.Score("accuracy", p, 1, labels, Binary).Value;
        var f1 = GateMetrics.Score("f1", p, 1, labels, Binary).Value;
        var logLoss = GateMetrics.Score("log_loss", p, 1, labels, Binary).Value;

        Assert.Equal(0.75, accuracy, 10);
        // Class 0: precision 2/3, recall 1 → f1 0.8; class 1: precision 1, recall 1/2 → f1 2/3.
        Assert.Equal((0.8 + 2.0 / 3) / 2, f1, 6);
        var expected = -(Math.Log(0.9f) + Math.Log(1 - (double)0.2f) + Math.Log(0.4f) + Math.Log(1 - (double)0.1f)) / 4;
        Assert.Equal(expected, logLoss, 6);
    }

    [Fact]
    public void Score_SoftmaxWithClassValues_MapsLabelsAndSkipsUnknownOnes()
    {
        var task = new ModelTask(ModelTask.Multiclass, [10, 20, 30]);
        float[] p = [0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f, 0.3f, 0.4f, 0.3f];
        double[] labels = [10, 30, 99];

        var score = GateMetrics.Score("accuracy", p, 3, labels, task);

        Assert.Equal((1.0, 2, 1), (score.Value, score.Rows, score.Skipped));
    }

    [Theory]
    [InlineData(1.0, 0.5, 0.0, true)]
    [InlineData(1.0, 0.95, 0.1, false)]
    [InlineData(1.0, 1.0, 0.0, false)]
    [InlineData(1.0, 1.2, 0.0, false)]
    public void Decide_AbsoluteMargin_PromotesOnlyWhenBeaten(double champion, double challenger, double margin, bool promoted)
    {
        var decision = ChampionChallengerGate.Decide("mse", champion, challenger, new GateMargins(margin), rows: 20);

        Assert.Equal(promoted, decision.Promoted);
        Assert.Contains("20 held-out rows", decision.Reason);
    }

    [Theory]
    [InlineData(0.85, false)]
    [InlineData(0.75, true)]
    public void Decide_RelativeMargin_NeedsShareOfChampionScore(double challenger, bool promoted)
    {
        // 20 % of the champion's 1.0: the challenger must be 0.2 lower; 0.15 is not enough, 0.25 is.
        var decision = ChampionChallengerGate.Decide("mse", 1.0, challenger, new GateMargins(0, 0.2), rows: 10);

        Assert.Equal(promoted, decision.Promoted);
        Assert.Equal("0.2", decision.Details["relative_margin"]);
    }

    [Theory]
    [InlineData(0.5, true)]
    [InlineData(0.3, false)]
    public void Decide_Threshold_ErrorMustBeAtMostIt(double threshold, bool promoted)
    {
        var decision = ChampionChallengerGate.Decide("mae", 0.6, 0.4, new GateMargins(0, 0, threshold), rows: 10);

        Assert.Equal(promoted, decision.Promoted);
        if (!promoted) Assert.Contains("threshold", decision.Reason);
    }

    [Theory]
    [InlineData(0.90, 0.0, null, true)]
    [InlineData(0.80, 0.0, null, false)]
    [InlineData(0.90, 0.1, null, false)]
    [InlineData(0.90, 0.0, 0.95, false)]
    public void Decide_Accuracy_HigherIsBetter(double challenger, double margin, double? threshold, bool promoted)
    {
        var decision = ChampionChallengerGate.Decide("accuracy", 0.85, challenger, new GateMargins(margin, 0, threshold), rows: 40);

        Assert.Equal(promoted, decision.Promoted);
    }
}
