using Google.Protobuf;
using global::Onnx;

namespace MaaS.Onnx.Export;

/// <summary>
/// Writes a stack of dense layers as an ONNX model with our own subset of the ONNX schema (TorchSharp
/// has no ONNX export): input "input" FP32 ["batch", in], per layer one Gemm with transB = 1 (torch's
/// weight layout as is) and its activation node, an optional Softmax over the last axis, output
/// "output" FP32 ["batch", out]. IR 8, opset 17, producer "maas-trainer". With <see cref="DenseNetworkOptions"/>:
/// standardisation nodes (Sub, Div) first, a sigmoid or softmax head, and a second output "label" INT64 ["batch", 1].
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

    /// <summary>Name of the class-index output a classifier graph adds.</summary>
    public const string Label = "label";

    /// <summary>Threshold of a sigmoid head's label: probability ≥ this is class 1.</summary>
    public const float BinaryThreshold = 0.5f;

    /// <summary>Name of the head's sigmoid node (a layer's own sigmoid carries the layer's prefix).</summary>
    public const string HeadSigmoidNode = "head.sigmoid";

    /// <summary>Names of the standardisation initializers.</summary>
    public const string ScalerMean = "scaler.mean", ScalerScale = "scaler.scale";

    /// <summary>The serialized model.</summary>
    /// <param name="layers">The layers, input first; each one's Inputs equals the previous one's Outputs.</param>
    /// <param name="softmax">Whether a Softmax over the last axis ends the network (a classifier head).</param>
    /// <param name="graphName">The graph's name.</param>
    /// <exception cref="ArgumentException">The layers do not form a network; the message says where.</exception>
    public static byte[] Export(IReadOnlyList<DenseLayer> layers, bool softmax = false, string graphName = DefaultGraphName) =>
        Build(layers, softmax, graphName).ToByteArray();

    /// <summary>The serialized model with standardisation, head and label output as the options say.</summary>
    /// <param name="layers">The layers, input first; each one's Inputs equals the previous one's Outputs.</param>
    /// <param name="options">What surrounds the layers.</param>
    /// <exception cref="ArgumentException">The layers or options do not form a network; the message says where.</exception>
    public static byte[] Export(IReadOnlyList<DenseLayer> layers, DenseNetworkOptions options) => Build(layers, options).ToByteArray();

    /// <summary>The model as a message, for callers that want to inspect or amend it before writing.</summary>
    /// <inheritdoc cref="Export(IReadOnlyList{DenseLayer}, bool, string)"/>
    public static ModelProto Build(IReadOnlyList<DenseLayer> layers, bool softmax = false, string graphName = DefaultGraphName) =>
        Build(layers, new DenseNetworkOptions { Head = softmax ? DenseHead.Softmax : DenseHead.None, GraphName = graphName });

    /// <summary>The model as a message, for callers that want to inspect or amend it before writing.</summary>
    /// <inheritdoc cref="Export(IReadOnlyList{DenseLayer}, DenseNetworkOptions)"/>
    public static ModelProto Build(IReadOnlyList<DenseLayer> layers, DenseNetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.GraphName);
        Validate(layers);
        Validate(options, layers);

        var graph = new GraphProto { Name = options.GraphName };
        var single = layers.Count == 1;
        var head = options.Head;
        var current = Input;
        if (options.Standardization is { } scaler)
        {
            // First nodes of the graph: the training split's statistics travel with the model, so
            // clients send raw features and can never standardise with the wrong numbers.
            graph.Node.Add(new NodeProto { Name = "scaler.sub", OpType = "Sub", Input = { current, ScalerMean }, Output = { "scaler.centered" } });
            graph.Node.Add(new NodeProto { Name = "scaler.div", OpType = "Div", Input = { "scaler.centered", ScalerScale }, Output = { "scaler.output" } });
            graph.Initializer.Add(FloatTensor(ScalerMean, [scaler.Mean.Length], scaler.Mean));
            graph.Initializer.Add(FloatTensor(ScalerScale, [scaler.Scale.Length], scaler.Scale));
            current = "scaler.output";
        }
        for (var i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var prefix = single ? "" : $"layer{i}.";
            var lastLayer = i == layers.Count - 1;
            var weight = prefix + "weight";
            var bias = prefix + "bias";
            var hasActivation = layer.Activation != DenseActivation.None;

            var gemmOut = lastLayer && !hasActivation && head == DenseHead.None ? Output : prefix + "linear";
            var gemm = new NodeProto { Name = prefix + "linear", OpType = "Gemm", Input = { current, weight, bias }, Output = { gemmOut } };
            gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            graph.Node.Add(gemm);
            graph.Initializer.Add(FloatTensor(weight, [layer.Outputs, layer.Inputs], layer.Weight));
            graph.Initializer.Add(FloatTensor(bias, [layer.Outputs], layer.Bias));
            current = gemmOut;

            if (hasActivation)
            {
                var op = OpType(layer.Activation);
                var actOut = lastLayer && head == DenseHead.None ? Output : prefix + op.ToLowerInvariant();
                graph.Node.Add(new NodeProto { Name = prefix + op.ToLowerInvariant(), OpType = op, Input = { current }, Output = { actOut } });
                current = actOut;
            }
        }
        if (head == DenseHead.Softmax)
        {
            var node = new NodeProto { Name = "softmax", OpType = "Softmax", Input = { current }, Output = { Output } };
            node.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = -1 });
            graph.Node.Add(node);
        }
        else if (head == DenseHead.Sigmoid)
        {
            graph.Node.Add(new NodeProto { Name = HeadSigmoidNode, OpType = "Sigmoid", Input = { current }, Output = { Output } });
        }
        graph.Input.Add(TensorValue(Input, TensorProto.Types.DataType.Float, layers[0].Inputs));
        graph.Output.Add(TensorValue(Output, TensorProto.Types.DataType.Float, layers[^1].Outputs));
        if (options.LabelOutput)
        {
            AddLabel(graph, head);
            graph.Output.Add(TensorValue(Label, TensorProto.Types.DataType.Int64, 1));
        }

        return new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = Producer,
            ProducerVersion = ProducerVersion,
            Graph = graph,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = Opset } },
        };
    }

    // The class index from the probabilities the caller also gets, so both outputs always agree.
    private static void AddLabel(GraphProto graph, DenseHead head)
    {
        if (head == DenseHead.Softmax)
        {
            var argMax = new NodeProto { Name = "label.argmax", OpType = "ArgMax", Input = { Output }, Output = { Label } };
            argMax.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            argMax.Attribute.Add(new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            graph.Node.Add(argMax);
            return;
        }
        graph.Initializer.Add(FloatTensor("label.threshold", [], [BinaryThreshold]));
        graph.Node.Add(new NodeProto { Name = "label.compare", OpType = "GreaterOrEqual", Input = { Output, "label.threshold" }, Output = { "label.positive" } });
        var cast = new NodeProto { Name = "label.cast", OpType = "Cast", Input = { "label.positive" }, Output = { Label } };
        cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Int64 });
        graph.Node.Add(cast);
    }

    private static void Validate(DenseNetworkOptions options, IReadOnlyList<DenseLayer> layers)
    {
        if (!Enum.IsDefined(options.Head))
        {
            throw new ArgumentException($"Head {(int)options.Head} is not one of none, sigmoid, softmax.", nameof(options));
        }
        if (options.Head == DenseHead.Sigmoid && layers[^1].Outputs != 1)
        {
            throw new ArgumentException($"A sigmoid head needs a last layer with 1 output; it has {layers[^1].Outputs}.", nameof(options));
        }
        if (options.LabelOutput && options.Head == DenseHead.None)
        {
            throw new ArgumentException("A label output needs a sigmoid or softmax head.", nameof(options));
        }
        if (options.Standardization is { } s)
        {
            var n = layers[0].Inputs;
            if (s.Mean is null || s.Scale is null || s.Mean.Length != n || s.Scale.Length != n)
            {
                throw new ArgumentException(
                    $"The standardisation holds {s.Mean?.Length ?? 0} means and {s.Scale?.Length ?? 0} scales; the first layer takes {n} features.", nameof(options));
            }
            var bad = Array.FindIndex(s.Scale, v => v == 0 || !float.IsFinite(v));
            if (bad >= 0) throw new ArgumentException($"Standardisation scale {bad} is {s.Scale[bad]}; it must be finite and not 0.", nameof(options));
            bad = Array.FindIndex(s.Mean, v => !float.IsFinite(v));
            if (bad >= 0) throw new ArgumentException($"Standardisation mean {bad} is {s.Mean[bad]}; it must be finite.", nameof(options));
        }
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

    // A [batch, width] tensor whose first dimension is symbolic, so any number of rows runs.
    private static ValueInfoProto TensorValue(string name, TensorProto.Types.DataType type, long width) => new()
    {
        Name = name,
        Type = new TypeProto
        {
            TensorType = new TypeProto.Types.Tensor
            {
                ElemType = (int)type,
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
