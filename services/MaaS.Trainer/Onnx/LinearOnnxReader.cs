using System.Buffers.Binary;
using Google.Protobuf;
using global::Onnx;
using MaaS.Trainer.Training;

namespace MaaS.Trainer.Onnx;

/// <summary>
/// Reads the weights back from a model written by <see cref="LinearOnnxExporter"/>, for warm starts.
/// Anything else (another graph, other shapes, other attributes) is refused with a sentence saying what differs.
/// </summary>
public static class LinearOnnxReader
{
    /// <summary>The weight and bias of the model.</summary>
    /// <exception cref="InvalidDataException">The bytes are not such a model.</exception>
    public static LinearWeights Read(byte[] model)
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
        if (graph.Node.Count != 1 || graph.Node[0].OpType != "Gemm")
        {
            throw Refuse($"it has {graph.Node.Count} node(s) ({string.Join(", ", graph.Node.Select(n => n.OpType))}); expected one Gemm");
        }
        var gemm = graph.Node[0];
        if (gemm.Input.Count != 3) throw Refuse($"its Gemm has {gemm.Input.Count} inputs; expected input, weight and bias");
        CheckAttributes(gemm);

        var weight = Initializer(graph, gemm.Input[1]);
        var bias = Initializer(graph, gemm.Input[2]);
        if (weight.Dims.Count != 2 || weight.Dims[0] != 1 || weight.Dims[1] < 1)
        {
            throw Refuse($"its weight '{weight.Name}' has shape [{string.Join(", ", weight.Dims)}]; expected [1, n] with n ≥ 1");
        }
        if (bias.Dims.Count != 1 || bias.Dims[0] != 1)
        {
            throw Refuse($"its bias '{bias.Name}' has shape [{string.Join(", ", bias.Dims)}]; expected [1]");
        }
        var w = Floats(weight, (int)weight.Dims[1]);
        var b = Floats(bias, 1);
        return new LinearWeights(w, b[0]);
    }

    private static void CheckAttributes(NodeProto gemm)
    {
        var transB = 0L;
        foreach (var a in gemm.Attribute)
        {
            switch (a.Name)
            {
                case "transB": transB = a.I; break;
                case "transA" when a.I == 0: break;
                case "alpha" or "beta" when a.F == 1f: break;
                default: throw Refuse($"its Gemm has attribute {a.Name} set in a way this reader does not take");
            }
        }
        if (transB != 1) throw Refuse("its Gemm does not have transB = 1 (torch's weight layout)");
    }

    private static TensorProto Initializer(GraphProto graph, string name)
    {
        var t = graph.Initializer.FirstOrDefault(i => i.Name == name) ?? throw Refuse($"its Gemm input '{name}' is not an initializer");
        if (t.DataType != (int)TensorProto.Types.DataType.Float) throw Refuse($"its initializer '{name}' is not FP32");
        return t;
    }

    // Our exporter writes float_data; raw_data (little-endian) is what other writers use, so take both.
    private static float[] Floats(TensorProto t, int count)
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
        new($"The ONNX model is not a linear model written by the trainer: {why}.");
}
