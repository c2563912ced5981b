namespace MaaS.Contracts;

/// <summary>Event: a cleaned batch of new rows is stored as a dataset version.</summary>
public sealed record DataIngested : MeshMessage
{
    /// <summary>Model the rows are for.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Dataset name.</summary>
    public string DatasetName { get; init; } = "";
    /// <summary>Dataset version.</summary>
    public long DatasetVersion { get; init; }
    /// <summary>Rows received.</summary>
    public long RowsIn { get; init; }
    /// <summary>Rows kept after cleaning.</summary>
    public long RowsKept { get; init; }
}

/// <summary>Event: the updater decided to retrain a model.</summary>
public sealed record RetrainTriggered : MeshMessage
{
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>The rule and the numbers that fired.</summary>
    public string Reason { get; init; } = "";
    /// <summary>The training job sent.</summary>
    public string JobId { get; init; } = "";
    /// <summary>Champion it warm-starts from.</summary>
    public long ChampionVersion { get; init; }
}

/// <summary>Event: a challenger was compared with the champion.</summary>
public sealed record EvaluationCompleted : MeshMessage
{
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Champion version.</summary>
    public long ChampionVersion { get; init; }
    /// <summary>Challenger version.</summary>
    public long ChallengerVersion { get; init; }
    /// <summary>Metric name.</summary>
    public string Metric { get; init; } = "";
    /// <summary>Champion's score.</summary>
    public double ChampionScore { get; init; }
    /// <summary>Challenger's score.</summary>
    public double ChallengerScore { get; init; }
    /// <summary>Whether the challenger was promoted.</summary>
    public bool Promoted { get; init; }
    /// <summary>Why.</summary>
    public string Reason { get; init; } = "";
}
