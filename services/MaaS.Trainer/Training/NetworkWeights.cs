using MaaS.Onnx.Export;

namespace MaaS.Trainer.Training;

/// <summary>
/// The parameters of a trained (or warm-start) network: its dense layers in torch's layout, the
/// standardisation it applies first, and its head.
/// </summary>
/// <param name="Layers">The layers, input first.</param>
/// <param name="Standardization">Mean and scale applied to raw features first; null = none.</param>
/// <param name="Head">Sigmoid, softmax or none after the last layer.</param>
public sealed record NetworkWeights(IReadOnlyList<DenseLayer> Layers, DenseStandardization? Standardization = null, DenseHead Head = DenseHead.None)
{
    /// <summary>Number of input features.</summary>
    public int Features => Layers[0].Inputs;

    /// <summary>Width of the output.</summary>
    public int Outputs => Layers[^1].Outputs;

    /// <summary>"2→16 tanh, 16→1": the shape, for sentences.</summary>
    public string Describe() => string.Join(", ", Layers.Select(l =>
        $"{l.Inputs}→{l.Outputs}{(l.Activation == DenseActivation.None ? "" : " " + l.Activation.ToString().ToLowerInvariant())}"));

    /// <summary>A network read back from an ONNX graph.</summary>
    public static NetworkWeights From(DenseNetwork network) =>
        new(network.Layers, network.Options.Standardization, network.Options.Head);

    /// <summary>A linear model is a one-layer network without standardisation.</summary>
    public static implicit operator NetworkWeights(LinearWeights linear) =>
        new([new DenseLayer(linear.Features, 1, linear.Weight, [linear.Bias])]);
}

/// <summary>The classes of a classifier: label value and name per class index.</summary>
/// <param name="Values">The label values, ascending; index i is class i.</param>
/// <param name="Names">The class names, in the same order.</param>
public sealed record ClassMap(double[] Values, string[] Names)
{
    /// <summary>Number of classes.</summary>
    public int Count => Values.Length;
}
