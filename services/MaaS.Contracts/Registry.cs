namespace MaaS.Contracts;

/// <summary>Event: a model version's artifact and metadata are stored.</summary>
public sealed record ModelVersionRegistered : MeshMessage
{
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Version number.</summary>
    public long Version { get; init; }
    /// <summary>Artifact sha256.</summary>
    public string ArtifactDigest { get; init; } = "";
    /// <summary>Artifact size in bytes.</summary>
    public long ArtifactSize { get; init; }
    /// <summary>Training job that produced it, if any.</summary>
    public string TrainingJobId { get; init; } = "";
}

/// <summary>Event: an alias now points at another version.</summary>
public sealed record AliasMoved : MeshMessage
{
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Alias name.</summary>
    public string Alias { get; init; } = "";
    /// <summary>Former target; 0 = none.</summary>
    public long FromVersion { get; init; }
    /// <summary>New target.</summary>
    public long ToVersion { get; init; }
    /// <summary>Who moved it.</summary>
    public string Actor { get; init; } = "";
    /// <summary>Why.</summary>
    public string Reason { get; init; } = "";
}
