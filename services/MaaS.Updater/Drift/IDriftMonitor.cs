using MaaS.Updater.V1;

namespace MaaS.Updater.Drift;

/// <summary>
/// The drift check a retraining trigger asks for: live inputs (sampled by the inference replicas)
/// against the champion's training data, per feature, by the rule's method.
/// </summary>
public interface IDriftMonitor
{
    /// <summary>
    /// Compares the newest <c>rule.window</c> sampled inputs of the model with the training data of
    /// <paramref name="championVersion"/>; null while fewer than <c>rule.min_samples</c> samples are in.
    /// </summary>
    Task<DriftResult?> CheckAsync(string model, long championVersion, DriftRule rule, CancellationToken ct);
}

/// <summary>A drift check's outcome: the statistic per feature, and whether any is past the threshold.</summary>
public sealed record DriftResult(
    bool Drifted,
    string Method,
    double Threshold,
    int Samples,
    IReadOnlyDictionary<string, double> StatisticByFeature,
    string Reason);
