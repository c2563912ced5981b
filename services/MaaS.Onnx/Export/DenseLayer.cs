namespace MaaS.Onnx.Export;

/// <summary>What follows a dense layer's affine map.</summary>
public enum DenseActivation
{
    /// <summary>Nothing: the layer is affine.</summary>
    None,

    /// <summary>max(0, x).</summary>
    Relu,

    /// <summary>tanh(x).</summary>
    Tanh,

    /// <summary>1 / (1 + e^-x).</summary>
    Sigmoid,
}

/// <summary>
/// One fully connected layer, y = act(x · Wᵀ + b), with the weight in torch's layout:
/// <see cref="Weight"/> is row-major [<see cref="Outputs"/>, <see cref="Inputs"/>].
/// </summary>
/// <param name="Inputs">Width of the layer's input.</param>
/// <param name="Outputs">Width of the layer's output.</param>
/// <param name="Weight">Row-major [Outputs, Inputs] values.</param>
/// <param name="Bias">[Outputs] values.</param>
/// <param name="Activation">What follows the affine map.</param>
public sealed record DenseLayer(int Inputs, int Outputs, float[] Weight, float[] Bias, DenseActivation Activation = DenseActivation.None)
{
    /// <summary>Weights plus biases.</summary>
    public long ParameterCount => (long)Inputs * Outputs + Outputs;

    /// <summary>
    /// A layer with deterministic pseudo-random weights scaled by 1/√inputs (so activations stay in
    /// range through deep stacks): for benchmarks and tests that need a model of a given size.
    /// </summary>
    public static DenseLayer Random(int inputs, int outputs, DenseActivation activation, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        var random = new Random(seed);
        var scale = 1.0 / Math.Sqrt(inputs);
        var weight = new float[(long)inputs * outputs];
        for (var i = 0; i < weight.Length; i++) weight[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        var bias = new float[outputs];
        for (var i = 0; i < bias.Length; i++) bias[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return new DenseLayer(inputs, outputs, weight, bias, activation);
    }
}
