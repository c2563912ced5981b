namespace MaaS.Contracts;

/// <summary>Command: train a model and register the result.</summary>
public sealed record TrainModel : MeshMessage
{
    /// <summary>Job id to use; empty = the trainer picks one.</summary>
    public string JobId { get; init; } = "";
    /// <summary>Model to register under.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Dataset in the registry.</summary>
    public string DatasetName { get; init; } = "";
    /// <summary>Dataset version; 0 = latest.</summary>
    public long DatasetVersion { get; init; }
    /// <summary>Feature columns; empty = all but the label.</summary>
    public IReadOnlyList<string> FeatureColumns { get; init; } = [];
    /// <summary>Label column.</summary>
    public string LabelColumn { get; init; } = "";
    /// <summary>Architecture, e.g. linear_regression.</summary>
    public string Architecture { get; init; } = "linear_regression";
    /// <summary>Optimizer, e.g. sgd.</summary>
    public string Optimizer { get; init; } = "sgd";
    /// <summary>Loss, e.g. mse.</summary>
    public string Loss { get; init; } = "mse";
    /// <summary>Epochs.</summary>
    public int Epochs { get; init; }
    /// <summary>Learning rate.</summary>
    public double LearningRate { get; init; }
    /// <summary>Random seed.</summary>
    public long Seed { get; init; }
    /// <summary>Version to warm-start from; 0 = fresh.</summary>
    public long WarmStartVersion { get; init; }
    /// <summary>Task: regression, binary_classification, multiclass_classification; empty = from the architecture.</summary>
    public string Task { get; init; } = "";
    /// <summary>Hidden layer sizes of an MLP.</summary>
    public IReadOnlyList<int> HiddenSizes { get; init; } = [];
    /// <summary>Hidden activation of an MLP: relu, tanh, sigmoid.</summary>
    public string Activation { get; init; } = "";
    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; }
    /// <summary>Weight decay.</summary>
    public double WeightDecay { get; init; }
    /// <summary>Mini-batch size; 0 = full batch.</summary>
    public int BatchSize { get; init; }
    /// <summary>Share of rows held out for validation.</summary>
    public double ValidationSplit { get; init; }
    /// <summary>Standardise features inside the graph; null = the trainer's default.</summary>
    public bool? Standardize { get; init; }
}

/// <summary>Event: a training job changed state.</summary>
public sealed record TrainingJobStateChanged : MeshMessage
{
    /// <summary>Job id.</summary>
    public string JobId { get; init; } = "";
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>New state: Queued, Running, Succeeded, Failed, Cancelled.</summary>
    public string State { get; init; } = "";
    /// <summary>Reason or note.</summary>
    public string Message { get; init; } = "";
}

/// <summary>Event: a job trained, verified and registered a version.</summary>
public sealed record ModelTrained : MeshMessage
{
    /// <summary>Job id.</summary>
    public string JobId { get; init; } = "";
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Registered version.</summary>
    public long Version { get; init; }
    /// <summary>Artifact sha256.</summary>
    public string ArtifactDigest { get; init; } = "";
    /// <summary>Version it was warm-started from; 0 = none.</summary>
    public long ParentVersion { get; init; }
    /// <summary>Training metrics.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}

/// <summary>Event: a training job finished more epochs (at most one per second per job, plus the last epoch).</summary>
public sealed record TrainingProgressed : MeshMessage
{
    /// <summary>Job id.</summary>
    public string JobId { get; init; } = "";
    /// <summary>Model name.</summary>
    public string ModelName { get; init; } = "";
    /// <summary>Epochs done.</summary>
    public int Epoch { get; init; }
    /// <summary>Epochs asked for.</summary>
    public int Epochs { get; init; }
    /// <summary>Mean training loss of the epoch.</summary>
    public double TrainLoss { get; init; }
    /// <summary>Validation loss; null without a validation split.</summary>
    public double? ValidationLoss { get; init; }
    /// <summary>Time since training began.</summary>
    public TimeSpan Elapsed { get; init; }
    /// <summary>Estimated time left.</summary>
    public TimeSpan Eta { get; init; }
}
