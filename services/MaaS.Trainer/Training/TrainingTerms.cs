namespace MaaS.Trainer.Training;

/// <summary>The words a <see cref="V1.TrainingSpec"/> takes, shared by the validator, the trainer and the market templates.</summary>
public static class TrainingTerms
{
    /// <summary>Tasks.</summary>
    public const string Regression = "regression", BinaryClassification = "binary_classification",
        MulticlassClassification = "multiclass_classification";

    /// <summary>Architectures.</summary>
    public const string LinearRegression = "linear_regression", LogisticRegression = "logistic_regression", Mlp = "mlp";

    /// <summary>Losses.</summary>
    public const string Mse = "mse", Mae = "mae", Huber = "huber", CrossEntropy = "cross_entropy", BinaryCrossEntropy = "binary_cross_entropy";

    /// <summary>Optimizers.</summary>
    public const string Gd = "gd", Sgd = "sgd", Adam = "adam", AdamW = "adamw";

    /// <summary>Hidden-layer activations.</summary>
    public const string Relu = "relu", Tanh = "tanh", Sigmoid = "sigmoid";

    /// <summary>Learning-rate schedules.</summary>
    public const string Constant = "constant", Step = "step", Cosine = "cosine";

    /// <summary>Devices.</summary>
    public const string Cpu = "cpu", Cuda = "cuda";

    /// <summary>All tasks, in the order sentences list them.</summary>
    public static readonly string[] Tasks = [Regression, BinaryClassification, MulticlassClassification];

    /// <summary>All architectures.</summary>
    public static readonly string[] Architectures = [LinearRegression, LogisticRegression, Mlp];

    /// <summary>All optimizers.</summary>
    public static readonly string[] Optimizers = [Gd, Sgd, Adam, AdamW];

    /// <summary>All activations.</summary>
    public static readonly string[] Activations = [Relu, Tanh, Sigmoid];

    /// <summary>All schedules.</summary>
    public static readonly string[] Schedules = [Constant, Step, Cosine];

    /// <summary>The losses that fit a task.</summary>
    public static string[] LossesFor(string task) => task switch
    {
        Regression => [Mse, Mae, Huber],
        BinaryClassification => [BinaryCrossEntropy],
        MulticlassClassification => [CrossEntropy],
        _ => [],
    };

    /// <summary>The tasks an architecture can learn.</summary>
    public static string[] TasksFor(string architecture) => architecture switch
    {
        LinearRegression => [Regression],
        LogisticRegression => [BinaryClassification, MulticlassClassification],
        Mlp => Tasks,
        _ => [],
    };

    /// <summary>Whether the task predicts a class.</summary>
    public static bool IsClassification(string task) => task is BinaryClassification or MulticlassClassification;
}
