using System.Globalization;
using MaaS.Onnx;
using MaaS.Registry.V1;
using MaaS.Updater.Registry;
using MaaS.Updater.V1;

namespace MaaS.Updater.Gate;

/// <summary>The margins a challenger must beat the champion by, from the policy.</summary>
/// <param name="MinImprovement">Absolute margin, >= 0.</param>
/// <param name="MinRelativeImprovement">Margin as a share of the champion's score, [0, 1).</param>
/// <param name="ScoreThreshold">When set, the challenger's score must also be at least this good.</param>
public sealed record GateMargins(double MinImprovement, double MinRelativeImprovement = 0, double? ScoreThreshold = null)
{
    /// <summary>The policy's margins.</summary>
    public static GateMargins From(Policy policy) =>
        new(policy.MinImprovement, policy.MinRelativeImprovement, policy.HasScoreThreshold ? policy.ScoreThreshold : null);
}

/// <summary>Both scores on the same held-out rows, what they mean, and the numbers behind it.</summary>
public sealed record GateDecision(string Metric, double ChampionScore, double ChallengerScore, bool Promoted, string Reason,
    IReadOnlyDictionary<string, string> Details);

/// <summary>
/// Scores champion and challenger with ONNX Runtime on the same held-out rows of the new data; the
/// challenger passes only when it beats the champion on the policy's metric by the absolute margin,
/// by the relative margin, and (when set) reaches the absolute threshold.
/// </summary>
public sealed class ChampionChallengerGate(IRegistryGateway registry, OnnxSessionFactory sessions)
{
    /// <summary>Evaluates both versions on <paramref name="holdout"/> (features then label per row).</summary>
    public async Task<GateDecision> EvaluateAsync(
        string model, ModelVersion champion, long challengerVersion, IReadOnlyList<double[]> holdout, Policy policy, CancellationToken ct)
    {
        var task = ModelTask.Of(champion);
        // A policy stored before the champion's task changed may name a metric that no longer fits; the task's default decides then.
        var metric = GateMetrics.Resolve(policy.GateMetric, task);
        if (!GateMetrics.Fits(metric, task)) metric = GateMetrics.Resolve("", task);
        var championScore = await ScoreAsync(model, champion.Version, holdout, metric, task, ct);
        var challengerScore = await ScoreAsync(model, challengerVersion, holdout, metric, task, ct);
        return Decide(metric, championScore.Value, challengerScore.Value, GateMargins.From(policy), championScore.Rows);
    }

    /// <summary>A version's score on rows of features then label.</summary>
    public async Task<MetricScore> ScoreAsync(string model, long version, IReadOnlyList<double[]> rows, string metric, ModelTask task, CancellationToken ct)
    {
        var bytes = await registry.DownloadVerifiedArtifactAsync(model, version, ct);
        using var session = sessions.Create(bytes);
        var featureCount = rows[0].Length - 1;
        var features = new float[rows.Count * featureCount];
        var labels = new double[rows.Count];
        for (var r = 0; r < rows.Count; r++)
        {
            for (var c = 0; c < featureCount; c++) features[r * featureCount + c] = (float)rows[r][c];
            labels[r] = rows[r][featureCount];
        }
        var outputs = DenseModelRunner.Predict(session.Session, features, rows.Count, featureCount);
        return GateMetrics.Score(metric, outputs, outputs.Length / rows.Count, labels, task);
    }

    /// <summary>
    /// The rule: the challenger must be better (lower error, higher accuracy/f1/r2) by more than 0, by at
    /// least the absolute margin, by at least the relative margin times |champion score|, and reach the threshold.
    /// </summary>
    public static GateDecision Decide(string metric, double championScore, double challengerScore, GateMargins margins, int rows)
    {
        var higher = GateMetrics.HigherIsBetter(metric);
        var improvement = higher ? challengerScore - championScore : championScore - challengerScore;
        var relativeNeeded = margins.MinRelativeImprovement * Math.Abs(championScore);
        var failures = new List<string>();
        if (!(improvement > 0)) failures.Add("it is not better");
        if (improvement < margins.MinImprovement) failures.Add($"the improvement {F(improvement)} is below the absolute margin {F(margins.MinImprovement)}");
        if (improvement < relativeNeeded)
        {
            failures.Add($"the improvement {F(improvement)} is below the relative margin {F(margins.MinRelativeImprovement)} × {F(Math.Abs(championScore))} = {F(relativeNeeded)}");
        }
        if (margins.ScoreThreshold is { } threshold && (higher ? challengerScore < threshold : challengerScore > threshold))
        {
            failures.Add($"its score misses the threshold {(higher ? ">=" : "<=")} {F(threshold)}");
        }
        var promoted = failures.Count == 0;
        var reason = promoted
            ? $"challenger {metric} {F(challengerScore)} beats champion {metric} {F(championScore)} by {F(improvement)} (margins: {F(margins.MinImprovement)} absolute, {F(relativeNeeded)} relative{Threshold(margins, higher)}) on {rows} held-out rows"
            : $"challenger {metric} {F(challengerScore)} vs champion {metric} {F(championScore)} on {rows} held-out rows: {string.Join("; ", failures)}";
        var details = new Dictionary<string, string>
        {
            ["metric"] = metric,
            ["champion_score"] = F(championScore),
            ["challenger_score"] = F(challengerScore),
            ["improvement"] = F(improvement),
            ["min_improvement"] = F(margins.MinImprovement),
            ["min_relative_improvement"] = F(margins.MinRelativeImprovement),
            ["relative_margin"] = F(relativeNeeded),
            ["holdout_rows"] = rows.ToString(CultureInfo.InvariantCulture),
            ["passed"] = promoted ? "true" : "false",
        };
        if (margins.ScoreThreshold is { } t) details["score_threshold"] = F(t);
        return new GateDecision(metric, championScore, challengerScore, promoted, reason, details);
    }

    private static string Threshold(GateMargins margins, bool higher) =>
        margins.ScoreThreshold is { } t ? $", threshold {(higher ? ">=" : "<=")} {F(t)}" : "";

    private static string F(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
