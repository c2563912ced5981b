namespace MaaS.Inference.Runtime;

/// <summary>How a replica picks which versions of a model to hold (Triton's version_policy).</summary>
public enum VersionPolicyKind
{
    /// <summary>The newest N ready versions (plus the production target).</summary>
    Latest,
    /// <summary>Exactly the listed versions.</summary>
    Specific,
    /// <summary>Every ready version.</summary>
    All,
}

/// <summary>A model's version policy.</summary>
public sealed record VersionPolicy(VersionPolicyKind Kind, int Latest, IReadOnlyList<long> Specific)
{
    /// <summary>The newest <paramref name="n"/> versions.</summary>
    public static VersionPolicy LatestN(int n) => new(VersionPolicyKind.Latest, n, []);

    /// <summary>Every version.</summary>
    public static VersionPolicy Every { get; } = new(VersionPolicyKind.All, 0, []);

    /// <summary>Exactly these versions.</summary>
    public static VersionPolicy Only(IReadOnlyList<long> versions) => new(VersionPolicyKind.Specific, 0, versions);
}

/// <summary>
/// Dynamic batching of one model version (Triton's dynamic_batching): requests that arrive within
/// <see cref="MaxQueueDelay"/> share one run of up to <see cref="MaxBatchSize"/> rows.
/// </summary>
public sealed record BatchingSettings(int MaxBatchSize, IReadOnlyList<int> PreferredBatchSizes, TimeSpan MaxQueueDelay, int MaxQueueSize)
{
    /// <summary>No batching: each request runs alone.</summary>
    public static BatchingSettings Off { get; } = new(0, [], TimeSpan.Zero, 0);

    /// <summary>Whether requests may share a run.</summary>
    public bool Enabled => MaxBatchSize > 1;
}

/// <summary>How one model is served on this replica: from configuration or a RepositoryModelLoad "config".</summary>
public sealed record ModelServingConfig(VersionPolicy VersionPolicy, BatchingSettings Batching);
