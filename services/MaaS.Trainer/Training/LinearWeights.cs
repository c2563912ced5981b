namespace MaaS.Trainer.Training;

/// <summary>The parameters of y = x·w + b, in torch's nn.Linear(n, 1) layout (weight [1, n], bias [1]).</summary>
public sealed record LinearWeights(float[] Weight, float Bias)
{
    /// <summary>Number of input features.</summary>
    public int Features => Weight.Length;
}
