namespace MaaS.Updater.Drift;

/// <summary>The training data a champion version is compared with, per feature, ready for the drift statistics.</summary>
public interface IDriftReference
{
    /// <summary>
    /// The reference of <paramref name="model"/> version <paramref name="version"/>; RpcException NotFound for an
    /// unknown version, FailedPrecondition when its training data cannot be read as its feature columns.
    /// </summary>
    Task<DriftReference> GetAsync(string model, long version, CancellationToken ct);
}

/// <summary>One feature of a reference: its values sorted (for KS) and its decile bins with their shares (for PSI).</summary>
public sealed class FeatureReference
{
    /// <summary>Builds the feature's reference from its training values (any order; copied and sorted).</summary>
    public FeatureReference(string name, IEnumerable<double> values)
    {
        Name = name;
        Sorted = values.ToArray();
        if (Sorted.Length == 0) throw new ArgumentException($"Feature '{name}' has no reference values.", nameof(values));
        Array.Sort(Sorted);
        Edges = DriftStatistics.DecileEdges(Sorted);
        Shares = DriftStatistics.Shares(Sorted, Edges);
    }

    /// <summary>Feature (column) name.</summary>
    public string Name { get; }

    /// <summary>The training values, ascending.</summary>
    public double[] Sorted { get; }

    /// <summary>PSI bin edges (the deciles).</summary>
    public double[] Edges { get; }

    /// <summary>Share of the training values per PSI bin.</summary>
    public double[] Shares { get; }
}

/// <summary>A champion's training data by feature, in the model's input order; <see cref="Source"/> names it for sentences.</summary>
public sealed record DriftReference(IReadOnlyList<FeatureReference> Features, string Source)
{
    /// <summary>Builds a reference from rows in feature order.</summary>
    public static DriftReference FromRows(IReadOnlyList<string> features, IReadOnlyList<double[]> rows, string source) =>
        new(features.Select((name, f) => new FeatureReference(name, rows.Select(r => r[f]))).ToList(), source);
}
