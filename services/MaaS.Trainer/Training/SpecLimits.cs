namespace MaaS.Trainer.Training;

/// <summary>Bounds of the spec's numbers, shared by the validator and the trainer.</summary>
public static class SpecLimits
{
    /// <summary>Largest learning rate accepted; above it every optimizer only diverges.</summary>
    public const double MaxLearningRate = 10;

    /// <summary>Most hidden layers of an mlp.</summary>
    public const int MaxHiddenLayers = 8;

    /// <summary>Widest hidden layer.</summary>
    public const int MaxHiddenSize = 4096;

    /// <summary>Most classes a classifier takes.</summary>
    public const int MaxClasses = 1000;

    /// <summary>Largest batch size.</summary>
    public const int MaxBatchSize = 1_000_000;

    /// <summary>Largest validation fraction: at least half of the rows train.</summary>
    public const double MaxValidationSplit = 0.5;

    /// <summary>Most class names, and longest one.</summary>
    public const int MaxClassNameLength = 64;
}
