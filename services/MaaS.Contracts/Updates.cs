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
    /// <summary>Which rule fired: rows | schedule | drift | feedback | manual.</summary>
    public string Rule { get; init; } = "";
    /// <summary>The numbers behind the decision (name → value as text).</summary>
    public IReadOnlyDictionary<string, string> Details { get; init; } = new Dictionary<string, string>();
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

/// <summary>Event: a rollout entered a new step (shadow, a canary share, or its end).</summary>
public sealed record RolloutStepChanged : MeshMessage
{
    /// <summary>Rollout id.</summary>
    public string RolloutId { get; init; } = "";
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Champion version.</summary>
    public long ChampionVersion { get; init; }
    /// <summary>Challenger version.</summary>
    public long ChallengerVersion { get; init; }
    /// <summary>State after the change: shadow | canary | completed | rolled_back | aborted.</summary>
    public string State { get; init; } = "";
    /// <summary>Canary step index (-1 for shadow).</summary>
    public int Step { get; init; }
    /// <summary>Challenger's share of live traffic, percent.</summary>
    public int ChallengerPercent { get; init; }
    /// <summary>Why the step changed, with the numbers judged.</summary>
    public string Reason { get; init; } = "";
}

/// <summary>Event: a rollout returned all traffic to the champion because the challenger misbehaved (or on request).</summary>
public sealed record RolledBack : MeshMessage
{
    /// <summary>Rollout id.</summary>
    public string RolloutId { get; init; } = "";
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Champion version (serving again).</summary>
    public long ChampionVersion { get; init; }
    /// <summary>Challenger version (taken out).</summary>
    public long ChallengerVersion { get; init; }
    /// <summary>Why, with the numbers (error rates, p99s, request counts).</summary>
    public string Reason { get; init; } = "";
    /// <summary>The numbers (name → value as text).</summary>
    public IReadOnlyDictionary<string, string> Details { get; init; } = new Dictionary<string, string>();
}

/// <summary>Event: a rollout reached 100 % and production moved to the challenger.</summary>
public sealed record RolloutCompleted : MeshMessage
{
    /// <summary>Rollout id.</summary>
    public string RolloutId { get; init; } = "";
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Former champion.</summary>
    public long PreviousVersion { get; init; }
    /// <summary>New production version.</summary>
    public long Version { get; init; }
}
