using MaaS.Onnx.Export;
using MaaS.Trainer.Training;

namespace MaaS.Trainer.Onnx;

/// <summary>
/// Writes a linear model as ONNX: a one-layer <see cref="DenseNetworkExporter"/> network, that is input
/// "input" FP32 ["batch", n], initializers "weight" [1, n] and "bias" [1], one Gemm node with transB = 1
/// so torch's weight layout is used as is, output "output" FP32 ["batch", 1].
/// </summary>
public static class LinearOnnxExporter
{
    /// <summary>ONNX IR version written (IR 8 goes with opset 17).</summary>
    public const long IrVersion = DenseNetworkExporter.IrVersion;

    /// <summary>Default-domain opset written.</summary>
    public const long Opset = DenseNetworkExporter.Opset;

    /// <summary>producer_name of every model the trainer writes.</summary>
    public const string Producer = DenseNetworkExporter.Producer;

    /// <summary>Names of the graph's tensors, shared with the reader and the registered signature.</summary>
    public const string Input = DenseNetworkExporter.Input, Output = DenseNetworkExporter.Output,
        Weight = "weight", Bias = "bias", BatchDim = DenseNetworkExporter.BatchDim;

    /// <summary>Name of the graph, as the trainer has always written it.</summary>
    public const string GraphName = "linear_regression";

    /// <summary>The serialized model.</summary>
    public static byte[] Export(LinearWeights weights)
    {
        if (weights.Features < 1) throw new ArgumentException("A linear model needs at least one feature.", nameof(weights));
        var layer = new DenseLayer(weights.Features, 1, weights.Weight, [weights.Bias]);
        return DenseNetworkExporter.Export([layer], softmax: false, GraphName);
    }
}
