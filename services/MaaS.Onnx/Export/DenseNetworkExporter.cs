using Google.Protobuf;
using global::Onnx;

namespace MaaS.Onnx.Export;

/// <summary>
/// Writes a stack of dense layers as an ONNX model with our own subset of the ONNX schema (TorchSharp
/// has no ONNX export): input "input" FP32 ["batch", in], per layer one Gemm with transB = 1 (torch's
/// weight layout as is) and its activation node, an optional Softmax over the last axis, output
/// "output" FP32 ["batch", out]. IR 8, opset 17, producer "maas-trainer".
/// </summary>
/// <remarks>
/// A single layer is named the way the trainer's linear models always were (initializers "weight" and
/// "bias", Gemm node "linear"), so that a one-layer export is byte for byte the trainer's format; with
/// several layers every name carries a "layer{i}." prefix.
/// </remarks>
public static class DenseNetworkExporter
{
    /// <summary>ONNX IR version written (IR 8 goes with opset 17).</summary>
    public const long IrVersion = 8;

    /// <summary>Default-domain opset written.</summary>
    public const long Opset = 17;

    /// <summary>producer_name of every model written.</summary>
    public const string Producer = "maas-trainer";

    /// <summary>producer_version of every model written.</summary>
    public const string ProducerVersion = "1";

    /// <summary>Name of the graph's input tensor.</summary>
    public const string Input = "input";

    /// <summary>Name of the graph's output tensor.</summary>
    public const string Output = "output";

    /// <summary>The symbolic first dimension of input and output.</summary>
    public const string BatchDim = "batch";

    /// <summary>Graph name used when the caller gives none.</summary>
    public const string DefaultGraphName = "dense_network";

    /// <summary>The serialized model.</summary>
    /// <param name="layers">The layers, input first; each one's Inputs equals the previous one's Outputs.</param>
    /// <param name="softmax">Whether a Softmax over the last axis ends the network (a classifier head).</param>
    /// <param name="graphName">The graph's name.</param>
    /// <exception cref="ArgumentException">The layers do not form a network; the message says where.</exception>
    public static byte[] Export(IReadOnlyList<DenseLayer> layers, bool softmax = false, string graphName = DefaultGraphName) =>
        Build(layers, softmax, graphName).ToByteArray();

    /// <summary>The model as a message, for callers that want to inspect or amend it before writing.</summary>
    /// <inheritdoc cref="Export"/>
    public static ModelProto Build(IReadOnlyList<DenseLayer> layers, bool softmax = false, string graphName = DefaultGraphName)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentException.ThrowIfNullOrWhiteSpace(graphName);
        Validate(layers);

        var graph = new GraphProto { Name = graphName };
        var single = layers.Count == 1;
        var current = Input;
        for (var i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var prefix = single ? "" : $"layer{i}.";
            var lastLayer = i == layers.Count - 1;
            var weight = prefix + "weight";
            var bias = prefix + "bias";
            var hasActivation = layer.Activation != DenseActivation.None;

            var gemmOut = lastLayer && !hasActivation && !softmax ? Output : prefix + "linear";
            var gemm = new NodeProto { Name = prefix + "linear", OpType = "Gemm", Input = { current, weight, bias }, Output = { gemmOut } };
            gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            graph.Node.Add(gemm);
            graph.Initializer.Add(FloatTensor(weight, [layer.Outputs, layer.Inputs], layer.Weight));
            graph.Initializer.Add(FloatTensor(bias, [layer.Outputs], layer.Bias));
            current = gemmOut;

            if (hasActivation)
            {
                var op = OpType(layer.Activation);
                var actOut = lastLayer && !softmax ? Output : prefix + op.ToLowerInvariant();
                graph.Node.Add(new NodeProto { Name = prefix + op.ToLowerInvariant(), OpType = op, Input = { current }, Output = { actOut } });
                current = actOut;
            }
        }
        if (softmax)
        {
            var node = new NodeProto { Name = "softmax", OpType = "Softmax", Input = { current }, Output = { Output } };
            node.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = -1 });
            graph.Node.Add(node);
        }
        graph.Input.Add(FloatValue(Input, layers[0].Inputs));
        graph.Output.Add(FloatValue(Output, layers[^1].Outputs));

        return new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = Producer,
            ProducerVersion = ProducerVersion,
            Graph = graph,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = Opset } },
        };
    }

    /// <summary>Weights plus biases of all layers.</summary>
    public static long ParameterCount(IEnumerable<DenseLayer> layers) => layers.Sum(l => l.ParameterCount);

    private static void Validate(IReadOnlyList<DenseLayer> layers)
    {
        if (layers.Count == 0) throw new ArgumentException("A dense network needs at least one layer.", nameof(layers));
        for (var i = 0; i < layers.Count; i++)
        {
            var l = layers[i] ?? throw new ArgumentException($"Layer {i} is null.", nameof(layers));
            if (l.Inputs < 1 || l.Outputs < 1)
            {
                throw new ArgumentException($"Layer {i} is {l.Inputs} → {l.Outputs}; both widths must be at least 1.", nameof(layers));
            }
            if (l.Weight is null || l.Weight.LongLength != (long)l.Outputs * l.Inputs)
            {
                throw new ArgumentException(
                    $"Layer {i}'s weight holds {l.Weight?.LongLength ?? 0} values; [outputs, inputs] = [{l.Outputs}, {l.Inputs}] needs {(long)l.Outputs * l.Inputs}.", nameof(layers));
            }
            if (l.Bias is null || l.Bias.Length != l.Outputs)
            {
                throw new ArgumentException($"Layer {i}'s bias holds {l.Bias?.Length ?? 0} values; it needs one per output ({l.Outputs}).", nameof(layers));
            }
            if (!Enum.IsDefined(l.Activation))
            {
                throw new ArgumentException($"Layer {i}'s activation {(int)l.Activation} is not one of none, relu, tanh, sigmoid.", nameof(layers));
            }
            if (i > 0 && l.Inputs != layers[i - 1].Outputs)
            {
                throw new ArgumentException(
                    $"Layer {i} takes {l.Inputs} inputs but layer {i - 1} gives {layers[i - 1].Outputs} outputs; they must be equal.", nameof(layers));
            }
        }
    }

    private static string OpType(DenseActivation activation) => activation switch
    {
        DenseActivation.Relu => "Relu",
        DenseActivation.Tanh => "Tanh",
        DenseActivation.Sigmoid => "Sigmoid",
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "No ONNX operator for this activation."),
    };

    private static TensorProto FloatTensor(string name, long[] dims, float[] values) => new()
    {
        Name = name,
        DataType = (int)TensorProto.Types.DataType.Float,
        Dims = { dims },
        FloatData = { values },
    };

    // A [batch, width] FP32 tensor whose first dimension is symbolic, so any number of rows runs.
    private static ValueInfoProto FloatValue(string name, long width) => new()
    {
        Name = name,
        Type = new TypeProto
        {
            TensorType = new TypeProto.Types.Tensor
            {
                ElemType = (int)TensorProto.Types.DataType.Float,
                Shape = new TensorShapeProto
                {
                    Dim =
                    {
                        new TensorShapeProto.Types.Dimension { DimParam = BatchDim },
                        new TensorShapeProto.Types.Dimension { DimValue = width },
                    },
                },
            },
        },
    };
}
