using System.Globalization;

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

/// <summary>A model's version policy; the registry's production version is held whatever the policy.</summary>
public sealed record VersionPolicy(VersionPolicyKind Kind, int Latest, IReadOnlyList<long> Specific)
{
    /// <summary>The newest <paramref name="n"/> versions.</summary>
    public static VersionPolicy LatestN(int n) => new(VersionPolicyKind.Latest, n, []);

    /// <summary>Every version.</summary>
    public static VersionPolicy Every { get; } = new(VersionPolicyKind.All, 0, []);

    /// <summary>Exactly these versions.</summary>
    public static VersionPolicy Only(IReadOnlyList<long> versions) => new(VersionPolicyKind.Specific, 0, versions);

    /// <summary>The policy as the configuration spells it: latest:N, specific:1,3 or all.</summary>
    public override string ToString() => Kind switch
    {
        VersionPolicyKind.Latest => $"latest:{Latest}",
        VersionPolicyKind.Specific => "specific:" + string.Join(",", Specific.Select(v => v.ToString(CultureInfo.InvariantCulture))),
        _ => "all",
    };

    /// <summary>Equal when kind, count and versions are (a record alone would compare the list by reference).</summary>
    public bool Equals(VersionPolicy? other) =>
        other is not null && Kind == other.Kind && Latest == other.Latest && Specific.SequenceEqual(other.Specific);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, Latest, Specific.Count);
}

/// <summary>
/// Dynamic batching of one model version (Triton's dynamic_batching): requests that arrive within
/// <see cref="MaxQueueDelay"/> share one run of up to <see cref="MaxBatchSize"/> rows.
/// </summary>
public sealed record BatchingSettings(int MaxBatchSize, IReadOnlyList<int> PreferredBatchSizes, TimeSpan MaxQueueDelay, int MaxQueueSize)
{
    /// <summary>Queue bound when none is configured: the queue is always bounded.</summary>
    public const int DefaultMaxQueueSize = 1024;

    /// <summary>No batching: each request runs alone.</summary>
    public static BatchingSettings Off { get; } = new(0, [], TimeSpan.Zero, 0);

    /// <summary>Whether requests may share a run.</summary>
    public bool Enabled => MaxBatchSize > 1;

    /// <summary>
    /// Batches that may run at once (Triton's instance_group count). Two by default: with one, the next batch
    /// waits for the running one and a 2-core machine computes on one core while the other only parses requests.
    /// </summary>
    public int Instances { get; init; } = 2;

    /// <summary>Equal when every setting is (a record alone would compare the list by reference).</summary>
    public bool Equals(BatchingSettings? other) =>
        other is not null && MaxBatchSize == other.MaxBatchSize && MaxQueueDelay == other.MaxQueueDelay
        && MaxQueueSize == other.MaxQueueSize && PreferredBatchSizes.SequenceEqual(other.PreferredBatchSizes);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(MaxBatchSize, MaxQueueDelay, MaxQueueSize, PreferredBatchSizes.Count);

    /// <summary>Short description for logs and index reasons.</summary>
    public override string ToString() => Enabled
        ? $"dynamic batching up to {MaxBatchSize} rows, delay {MaxQueueDelay.TotalMicroseconds:0} µs, queue {MaxQueueSize}"
          + (PreferredBatchSizes.Count > 0 ? $", preferred {string.Join(",", PreferredBatchSizes)}" : "")
        : "no dynamic batching";
}

/// <summary>How one model is served on this replica: from configuration or a RepositoryModelLoad "config".</summary>
public sealed record ModelServingConfig(VersionPolicy VersionPolicy, BatchingSettings Batching)
{
    /// <summary>What a model without settings gets: the newest <paramref name="maxVersions"/> versions, no batching.</summary>
    public static ModelServingConfig Default(int maxVersions) => new(VersionPolicy.LatestN(maxVersions), BatchingSettings.Off);
}
