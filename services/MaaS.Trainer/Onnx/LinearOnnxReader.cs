using MaaS.Onnx.Export;
using MaaS.Trainer.Training;

namespace MaaS.Trainer.Onnx;

/// <summary>
/// The weight and bias of a linear model written by <see cref="LinearOnnxExporter"/>: the shared
/// <see cref="DenseNetworkReader"/>, narrowed to one layer with one output, no activation, head or scaler.
/// </summary>
public static class LinearOnnxReader
{
    /// <summary>The weight and bias of the model.</summary>
    /// <exception cref="InvalidDataException">The bytes are not such a model.</exception>
    public static LinearWeights Read(byte[] model)
    {
        var network = DenseNetworkReader.Read(model);
        if (network.Layers.Count != 1 || network.Outputs != 1 || network.Layers[0].Activation != DenseActivation.None
            || network.Options.Head != DenseHead.None || network.Options.Standardization is not null)
        {
            throw new InvalidDataException(
                $"Not a linear model of ours: it has {network.Layers.Count} layer(s) with {network.Outputs} output(s); expected one Gemm with one output and nothing around it.");
        }
        return new LinearWeights(network.Layers[0].Weight, network.Layers[0].Bias[0]);
    }
}
