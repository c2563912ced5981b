using System.Buffers.Binary;
using Google.Protobuf;
using global::Onnx;

namespace MaaS.Onnx.Export;

/// <summary>
/// Reads back a network written by <see cref="DenseNetworkExporter"/>: optional standardisation, the
/// Gemm layers with their activations, the head and the label output. Used for warm starts, so it
/// takes exactly the exporter's layout and refuses anything else with a sentence saying what differs.
/// </summary>
public static class DenseNetworkReader
{
    /// <summary>The network in the bytes.</summary>
    /// <exception cref="InvalidDataException">The bytes are not such a network.</exception>
    public static DenseNetwork Read(byte[] model)
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(model);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw Refuse($"the bytes are not an ONNX model ({ex.Message})");
        }
        var graph = proto.Graph ?? throw Refuse("it has no graph");
        var nodes = graph.Node;
        if (graph.Input.Count != 1 || graph.Input[0].Name != DenseNetworkExporter.Input)
        {
            throw Refuse($"its inputs are [{string.Join(", ", graph.Input.Select(i => i.Name))}]; expected one named '{DenseNetworkExporter.Input}'");
        }

        var i = 0;
        var current = DenseNetworkExporter.Input;
        DenseStandardization? scaler = null;
        if (i < nodes.Count && nodes[i].OpType == "Sub")
        {
            var sub = nodes[i];
            var div = i + 1 < nodes.Count ? nodes[i + 1] : null;
            if (sub.Input.Count != 2 || sub.Output.Count != 1 || sub.Input[0] != current || div is null || div.OpType != "Div"
                || div.Input.Count != 2 || div.Output.Count != 1 || div.Input[0] != sub.Output[0])
            {
                throw Refuse("its first nodes are not the standardisation pair Sub(input, mean) → Div(·, scale)");
            }
            var mean = Floats(Initializer(graph, sub.Input[1]));
            var scale = Floats(Initializer(graph, div.Input[1]));
            scaler = new DenseStandardization(mean, scale);
            current = div.Output[0];
            i += 2;
        }

        var layers = new List<DenseLayer>();
        while (i < nodes.Count && nodes[i].OpType == "Gemm")
        {
            var gemm = nodes[i];
            if (gemm.Input.Count != 3 || gemm.Output.Count != 1 || gemm.Input[0] != current)
            {
                throw Refuse($"its Gemm '{gemm.Name}' does not take the previous node's output, a weight and a bias");
            }
            CheckGemmAttributes(gemm);
            var weight = Initializer(graph, gemm.Input[1]);
            var bias = Initializer(graph, gemm.Input[2]);
            if (weight.Dims.Count != 2 || weight.Dims[0] < 1 || weight.Dims[1] < 1)
            {
                throw Refuse($"its weight '{weight.Name}' has shape [{string.Join(", ", weight.Dims)}]; expected [outputs, inputs]");
            }
            if (bias.Dims.Count != 1 || bias.Dims[0] != weight.Dims[0])
            {
                throw Refuse($"its bias '{bias.Name}' has shape [{string.Join(", ", bias.Dims)}]; expected [{weight.Dims[0]}]");
            }
            current = gemm.Output[0];
            i++;
            var activation = DenseActivation.None;
            if (i < nodes.Count && Activation(nodes[i]) is { } act && nodes[i].Name != DenseNetworkExporter.HeadSigmoidNode
                && nodes[i].Input.Count == 1 && nodes[i].Output.Count == 1 && nodes[i].Input[0] == current)
            {
                activation = act;
                current = nodes[i].Output[0];
                i++;
            }
            var (outputs, inputs) = ((int)weight.Dims[0], (int)weight.Dims[1]);
            if (layers.Count > 0 && layers[^1].Outputs != inputs)
            {
                throw Refuse($"its layer {layers.Count} takes {inputs} inputs but the layer before gives {layers[^1].Outputs}");
            }
            layers.Add(new DenseLayer(inputs, outputs, Floats(weight, (long)outputs * inputs), Floats(bias, outputs), activation));
        }
        if (layers.Count == 0) throw Refuse($"it has no Gemm layer where one was expected (nodes: {string.Join(", ", nodes.Select(n => n.OpType))})");
        if (scaler is not null && scaler.Mean.Length != layers[0].Inputs)
        {
            throw Refuse($"its standardisation has {scaler.Mean.Length} values for {layers[0].Inputs} features");
        }

        var head = DenseHead.None;
        if (i < nodes.Count && nodes[i].Input.Count == 1 && nodes[i].Output.Count == 1 && nodes[i].Input[0] == current
            && (nodes[i].OpType == "Softmax" || (nodes[i].OpType == "Sigmoid" && nodes[i].Name == DenseNetworkExporter.HeadSigmoidNode)))
        {
            head = nodes[i].OpType == "Softmax" ? DenseHead.Softmax : DenseHead.Sigmoid;
            current = nodes[i].Output[0];
            i++;
        }
        if (current != DenseNetworkExporter.Output)
        {
            throw Refuse($"its node '{nodes[Math.Max(0, i - 1)].Name}' does not end in the output '{DenseNetworkExporter.Output}'");
        }
        // Whatever follows only derives the label from the output; it carries no weights.
        var label = graph.Output.Any(o => o.Name == DenseNetworkExporter.Label);
        var rest = nodes.Skip(i).Select(n => n.OpType).ToList();
        if (rest.Any(op => op is not ("ArgMax" or "GreaterOrEqual" or "Cast")) || (rest.Count > 0) != label)
        {
            throw Refuse($"it ends in nodes [{string.Join(", ", rest)}] this reader does not take");
        }

        return new DenseNetwork(layers, new DenseNetworkOptions
        {
            Standardization = scaler,
            Head = head,
            LabelOutput = label,
            GraphName = graph.Name.Length > 0 ? graph.Name : DenseNetworkExporter.DefaultGraphName,
        });
    }

    private static DenseActivation? Activation(NodeProto node) => node.OpType switch
    {
        "Relu" => DenseActivation.Relu,
        "Tanh" => DenseActivation.Tanh,
        "Sigmoid" => DenseActivation.Sigmoid,
        _ => null,
    };

    private static void CheckGemmAttributes(NodeProto gemm)
    {
        var transB = 0L;
        foreach (var a in gemm.Attribute)
        {
            switch (a.Name)
            {
                case "transB": transB = a.I; break;
                case "transA" when a.I == 0: break;
                case "alpha" or "beta" when a.F == 1f: break;
                default: throw Refuse($"its Gemm '{gemm.Name}' has attribute {a.Name} set in a way this reader does not take");
            }
        }
        if (transB != 1) throw Refuse($"its Gemm '{gemm.Name}' does not have transB = 1 (torch's weight layout)");
    }

    private static TensorProto Initializer(GraphProto graph, string name)
    {
        var t = graph.Initializer.FirstOrDefault(i => i.Name == name) ?? throw Refuse($"its tensor '{name}' is not an initializer");
        if (t.DataType != (int)TensorProto.Types.DataType.Float) throw Refuse($"its initializer '{name}' is not FP32");
        return t;
    }

    private static float[] Floats(TensorProto t) => Floats(t, t.Dims.Aggregate(1L, (a, d) => a * d));

    // The exporter writes float_data; raw_data (little-endian) is what other writers use, so take both.
    private static float[] Floats(TensorProto t, long count)
    {
        if (t.FloatData.Count == count) return [.. t.FloatData];
        if (t.FloatData.Count == 0 && t.RawData.Length == count * sizeof(float))
        {
            var raw = t.RawData.Span;
            var values = new float[count];
            for (var i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]);
            return values;
        }
        throw Refuse($"its initializer '{t.Name}' holds {Math.Max(t.FloatData.Count, t.RawData.Length / 4)} values; its shape says {count}");
    }

    private static InvalidDataException Refuse(string why) =>
        new($"The ONNX model is not a dense network written by the trainer: {why}.");
}
