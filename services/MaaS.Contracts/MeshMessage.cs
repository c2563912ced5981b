namespace MaaS.Contracts;

/// <summary>
/// What every bus message carries: an id consumers use to stay idempotent, when it happened,
/// and the correlation id that follows data → job → version → deployment.
/// </summary>
public abstract record MeshMessage
{
    /// <summary>Unique id of this message; consumers ignore an id they have seen.</summary>
    public Guid EventId { get; init; } = Guid.NewGuid();

    /// <summary>When the fact happened.</summary>
    public DateTimeOffset OccurredAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>Correlation id shared by the chain of messages of one update.</summary>
    public string CorrelationId { get; init; } = "";

    /// <summary>Version of this message's shape; a consumer can tell an older payload from a newer one.</summary>
    public int SchemaVersion { get; init; } = 1;
}
