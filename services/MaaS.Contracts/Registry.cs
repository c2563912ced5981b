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
    /// <summary>True when the move was a rollback to the alias's previous target.</summary>
    public bool Rollback { get; init; }
}

/// <summary>Event: a model was created.</summary>
public sealed record ModelCreated : MeshMessage
{
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Description.</summary>
    public string Description { get; init; } = "";
    /// <summary>Task, e.g. regression.</summary>
    public string Task { get; init; } = "";
    /// <summary>Owning team or person.</summary>
    public string Owner { get; init; } = "";
    /// <summary>Tags, sorted.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
}

/// <summary>Event: an alias was removed.</summary>
public sealed record AliasDeleted : MeshMessage
{
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Alias name.</summary>
    public string Alias { get; init; } = "";
    /// <summary>Version it pointed at.</summary>
    public long FromVersion { get; init; }
    /// <summary>Who removed it.</summary>
    public string Actor { get; init; } = "";
    /// <summary>Why.</summary>
    public string Reason { get; init; } = "";
}

/// <summary>One target of a deployment: a version on a pool with a share of the traffic.</summary>
public sealed record DeploymentTarget
{
    /// <summary>Version number.</summary>
    public long Version { get; init; }
    /// <summary>Inference pool.</summary>
    public string Pool { get; init; } = "";
    /// <summary>Share of the traffic in percent (the targets sum to 100).</summary>
    public int Weight { get; init; }
}

/// <summary>A version that receives a mirrored share of the traffic.</summary>
public sealed record ShadowDeployment
{
    /// <summary>Version number.</summary>
    public long Version { get; init; }
    /// <summary>Share of the traffic mirrored, in percent.</summary>
    public int Percent { get; init; }
}

/// <summary>Event: a model's deployment changed; carries the full desired state, so no call back is needed.</summary>
public sealed record DeploymentChanged : MeshMessage
{
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>New revision number (1, 2, 3 ...).</summary>
    public long Revision { get; init; }
    /// <summary>Targets; empty = the model is not deployed.</summary>
    public IReadOnlyList<DeploymentTarget> Entries { get; init; } = [];
    /// <summary>Shadow; null = none.</summary>
    public ShadowDeployment? Shadow { get; init; }
    /// <summary>Who changed it.</summary>
    public string Actor { get; init; } = "";
    /// <summary>Why.</summary>
    public string Reason { get; init; } = "";
}

/// <summary>A dataset column and its type.</summary>
public sealed record DatasetColumn
{
    /// <summary>Column name.</summary>
    public string Name { get; init; } = "";
    /// <summary>OIP datatype: INT64 or FP64.</summary>
    public string Datatype { get; init; } = "";
}

/// <summary>Event: a dataset version was stored.</summary>
public sealed record DatasetVersionCreated : MeshMessage
{
    /// <summary>Dataset name.</summary>
    public string DatasetName { get; init; } = "";
    /// <summary>Version number.</summary>
    public long Version { get; init; }
    /// <summary>Content sha256.</summary>
    public string Digest { get; init; } = "";
    /// <summary>Size in bytes.</summary>
    public long Size { get; init; }
    /// <summary>Data rows.</summary>
    public long RowCount { get; init; }
    /// <summary>Columns in file order.</summary>
    public IReadOnlyList<DatasetColumn> Schema { get; init; } = [];
}

/// <summary>Event: a version was archived (readable, no longer aliasable or deployable).</summary>
public sealed record VersionArchived : MeshMessage
{
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Version number.</summary>
    public long Version { get; init; }
    /// <summary>Who archived it.</summary>
    public string Actor { get; init; } = "";
    /// <summary>Why.</summary>
    public string Reason { get; init; } = "";
}

/// <summary>Event: a version's metadata was deleted (its number is never reused).</summary>
public sealed record VersionDeleted : MeshMessage
{
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Version number.</summary>
    public long Version { get; init; }
    /// <summary>Artifact sha256 it had.</summary>
    public string ArtifactDigest { get; init; } = "";
    /// <summary>Who deleted it.</summary>
    public string Actor { get; init; } = "";
    /// <summary>Why.</summary>
    public string Reason { get; init; } = "";
}
