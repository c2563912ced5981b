namespace MaaS.Onnx.Export;

/// <summary>What turns the last layer's values into the network's "output".</summary>
public enum DenseHead
{
    /// <summary>Nothing: the last layer's values are the output (regression).</summary>
    None,

    /// <summary>1 / (1 + e^-x) on a single-unit last layer: the probability of the positive class.</summary>
    Sigmoid,

    /// <summary>Softmax over the last axis: one probability per class.</summary>
    Softmax,
}

/// <summary>
/// Feature standardisation the graph applies before its first layer: (x − <see cref="Mean"/>) / <see cref="Scale"/>,
/// one value per input feature, so that callers send raw features.
/// </summary>
/// <param name="Mean">[features] values subtracted.</param>
/// <param name="Scale">[features] values divided by; none may be 0.</param>
public sealed record DenseStandardization(float[] Mean, float[] Scale);

/// <summary>The parts of a dense network's graph around its layers.</summary>
public sealed record DenseNetworkOptions
{
    /// <summary>Standardisation nodes (Sub, Div) in front of the first layer; null = raw features go in.</summary>
    public DenseStandardization? Standardization { get; init; }

    /// <summary>The head after the last layer.</summary>
    public DenseHead Head { get; init; } = DenseHead.None;

    /// <summary>
    /// Whether the graph has a second output "label", INT64 [batch, 1]: the class index (ArgMax of a softmax
    /// head, or probability ≥ 0.5 for a sigmoid head). Needs a head.
    /// </summary>
    public bool LabelOutput { get; init; }

    /// <summary>The graph's name.</summary>
    public string GraphName { get; init; } = DenseNetworkExporter.DefaultGraphName;
}

/// <summary>A dense network as read back from its ONNX graph.</summary>
/// <param name="Layers">The layers, input first.</param>
/// <param name="Options">Standardisation, head and label output found around them.</param>
public sealed record DenseNetwork(IReadOnlyList<DenseLayer> Layers, DenseNetworkOptions Options)
{
    /// <summary>Width of the input.</summary>
    public int Inputs => Layers[0].Inputs;

    /// <summary>Width of the output.</summary>
    public int Outputs => Layers[^1].Outputs;
}
