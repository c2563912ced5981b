using MaaS.Onnx;
using MaaS.Updater.Registry;

namespace MaaS.Updater.Gate;

/// <summary>Both scores on the same held-out rows and what they mean.</summary>
public sealed record GateDecision(double ChampionScore, double ChallengerScore, bool Promoted, string Reason)
{
    /// <summary>The metric both are scored with.</summary>
    public const string Metric = "mse";
}

/// <summary>
/// Scores champion and challenger with ONNX Runtime on the same held-out rows of the new data; the
/// challenger passes only when its MSE is lower than the champion's by at least the policy margin.
/// </summary>
public sealed class ChampionChallengerGate(RegistryGateway registry, OnnxSessionFactory sessions)
{
    /// <summary>Evaluates both versions on <paramref name="holdout"/> (features then label per row).</summary>
    public async Task<GateDecision> EvaluateAsync(
        string model, long championVersion, long challengerVersion, IReadOnlyList<double[]> holdout, double minImprovement, CancellationToken ct)
    {
        var champion = await ScoreAsync(model, championVersion, holdout, ct);
        var challenger = await ScoreAsync(model, challengerVersion, holdout, ct);
        return Decide(champion, challenger, minImprovement, holdout.Count);
    }

    /// <summary>The rule: lower MSE by at least <paramref name="minImprovement"/>.</summary>
    public static GateDecision Decide(double championMse, double challengerMse, double minImprovement, int rows)
    {
        var improvement = championMse - challengerMse;
        var promoted = improvement > 0 && improvement >= minImprovement;
        var reason = promoted
            ? $"challenger mse {challengerMse:G6} beats champion mse {championMse:G6} by {improvement:G6} (margin {minImprovement:G6}) on {rows} held-out rows"
            : $"challenger mse {challengerMse:G6} does not beat champion mse {championMse:G6} by the margin {minImprovement:G6} on {rows} held-out rows";
        return new GateDecision(championMse, challengerMse, promoted, reason);
    }

    private async Task<double> ScoreAsync(string model, long version, IReadOnlyList<double[]> holdout, CancellationToken ct)
    {
        var bytes = await registry.DownloadVerifiedArtifactAsync(model, version, ct);
        using var session = sessions.Create(bytes);
        var featureCount = holdout[0].Length - 1;
        var features = new float[holdout.Count * featureCount];
        var labels = new float[holdout.Count];
        for (var r = 0; r < holdout.Count; r++)
        {
            for (var c = 0; c < featureCount; c++)
            {
                features[r * featureCount + c] = (float)holdout[r][c];
            }
            labels[r] = (float)holdout[r][featureCount];
        }
        var predictions = DenseModelRunner.Predict(session.Session, features, holdout.Count, featureCount);
        return DenseModelRunner.MeanSquaredError(predictions, labels);
    }
}
