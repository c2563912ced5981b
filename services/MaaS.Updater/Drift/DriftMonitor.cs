using System.Globalization;
using MaaS.ServiceDefaults;
using MaaS.Updater.V1;

namespace MaaS.Updater.Drift;

/// <summary>
/// Compares the newest sampled inference inputs of a model with its champion's training data, feature by
/// feature, by PSI or KS (<see cref="DriftStatistics"/>); drifted when any feature's statistic exceeds the
/// rule's threshold. Samples whose width is not the champion's feature count (inputs of an earlier champion
/// with other features) are left out.
/// </summary>
public sealed partial class DriftMonitor(DriftSampleStore samples, IDriftReference references, ILogger<DriftMonitor> logger) : IDriftMonitor
{
    /// <summary>Population stability index.</summary>
    public const string Psi = "psi";

    /// <summary>Kolmogorov–Smirnov statistic.</summary>
    public const string Ks = "ks";

    /// <inheritdoc />
    public async Task<DriftResult?> CheckAsync(string model, long championVersion, DriftRule rule, CancellationToken ct)
    {
        var method = Validate(rule);
        var rows = samples.Newest(model, rule.Window);
        if (rows.Count < rule.MinSamples)
        {
            return null;
        }
        var reference = await references.GetAsync(model, championVersion, ct);
        var width = reference.Features.Count;
        rows.RemoveAll(r => r.Length != width);
        if (rows.Count < rule.MinSamples)
        {
            return null;
        }

        var statistics = new Dictionary<string, double>(width, StringComparer.Ordinal);
        var live = new double[rows.Count];
        for (var f = 0; f < width; f++)
        {
            for (var r = 0; r < rows.Count; r++)
            {
                live[r] = rows[r][f];
            }
            var feature = reference.Features[f];
            double value;
            if (method == Psi)
            {
                value = DriftStatistics.Psi(feature.Edges, feature.Shares, live);
            }
            else
            {
                Array.Sort(live);
                value = DriftStatistics.KolmogorovSmirnov(feature.Sorted, live);
            }
            statistics[feature.Name] = value;
        }

        var worst = statistics.MaxBy(s => s.Value);
        var drifted = worst.Value > rule.Threshold;
        var label = method == Psi ? "PSI" : "KS statistic";
        var against = $"the newest {rows.Count} sampled inputs against the training data of version {championVersion} ({reference.Source})";
        var reason = drifted
            ? $"Input drift: {label} of feature '{worst.Key}' is {Format(worst.Value)}, above the threshold {Format(rule.Threshold)}, over {against}."
            : $"No input drift: the largest {label} is {Format(worst.Value)} (feature '{worst.Key}'), within the threshold {Format(rule.Threshold)}, over {against}.";
        LogChecked(logger, model, championVersion, method, worst.Key, worst.Value, rule.Threshold, rows.Count, drifted);
        return new DriftResult(drifted, method, rule.Threshold, rows.Count, statistics, reason);
    }

    /// <summary>The rule's method in lower case; InvalidArgument naming the field when a value is impossible.</summary>
    public static string Validate(DriftRule rule)
    {
        var method = rule.Method.Trim().ToLowerInvariant();
        if (method is not (Psi or Ks))
        {
            throw MeshErrors.InvalidArgument($"drift.method is '{rule.Method}'; it must be 'psi' or 'ks'.");
        }
        if (!(rule.Threshold > 0) || !double.IsFinite(rule.Threshold))
        {
            throw MeshErrors.InvalidArgument($"drift.threshold is {rule.Threshold}; it must be a number above 0.");
        }
        if (rule.Window is < 10 or > 100_000)
        {
            throw MeshErrors.InvalidArgument($"drift.window is {rule.Window}; it must be between 10 and 100000.");
        }
        if (rule.MinSamples < 10 || rule.MinSamples > rule.Window)
        {
            throw MeshErrors.InvalidArgument($"drift.min_samples is {rule.MinSamples}; it must be between 10 and drift.window ({rule.Window}).");
        }
        return method;
    }

    private static string Format(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drift of {Model} vs version {Champion} by {Method}: worst feature {Feature} = {Value} (threshold {Threshold}) over {Samples} samples; drifted: {Drifted}")]
    private static partial void LogChecked(ILogger logger, string model, long champion, string method, string feature, double value, double threshold, int samples, bool drifted);
}
