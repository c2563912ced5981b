using Google.Protobuf;
using Onnx;

namespace MaaS.Inference.Tests;

/// <summary>Small ONNX models written with the Onnx.* protobuf classes, so the tests need no model files.</summary>
internal static class TestModels
{
    private const int Float = (int)TensorProto.Types.DataType.Float;
    private const int Double = (int)TensorProto.Types.DataType.Double;
    private const int Int32 = (int)TensorProto.Types.DataType.Int32;
    private const int Int64 = (int)TensorProto.Types.DataType.Int64;
    private const int Bool = (int)TensorProto.Types.DataType.Bool;

    /// <summary>"input" FP32 [batch,1] → Gemm (weight, bias) → "output" FP32 [batch,1]: y = weight·x + bias.</summary>
    public static byte[] Linear(float weight = 2, float bias = 1)
    {
        var graph = new GraphProto { Name = "linear" };
        graph.Input.Add(Value("input", Float, "batch", 1));
        graph.Output.Add(Value("output", Float, "batch", 1));
        graph.Initializer.Add(new TensorProto { Name = "W", DataType = Float, Dims = { 1, 1 }, FloatData = { weight } });
        graph.Initializer.Add(new TensorProto { Name = "B", DataType = Float, Dims = { 1 }, FloatData = { bias } });
        graph.Node.Add(new NodeProto
        {
            OpType = "Gemm",
            Input = { "input", "W", "B" },
            Output = { "output" },
            Attribute = { new AttributeProto { Name = "transB", I = 1, Type = AttributeProto.Types.AttributeType.Int } },
        });
        return ModelBytes(graph);
    }

    /// <summary>
    /// Four inputs of four datatypes: "ids" INT64 [n,2] → "ids_next" = ids + 1; "values" FP64 [n,2] →
    /// "values_twice" = values + values; "counts" INT32 [n] → "counts_same"; "flags" BOOL [n] → "flags_not".
    /// </summary>
    public static byte[] Kitchen()
    {
        var graph = new GraphProto { Name = "kitchen" };
        graph.Input.Add(Value("ids", Int64, "n", 2));
        graph.Input.Add(Value("values", Double, "n", 2));
        graph.Input.Add(Value("counts", Int32, "n"));
        graph.Input.Add(Value("flags", Bool, "n"));
        graph.Output.Add(Value("ids_next", Int64, "n", 2));
        graph.Output.Add(Value("values_twice", Double, "n", 2));
        graph.Output.Add(Value("counts_same", Int32, "n"));
        graph.Output.Add(Value("flags_not", Bool, "n"));
        graph.Initializer.Add(new TensorProto { Name = "one", DataType = Int64, Int64Data = { 1 } });
        graph.Node.Add(new NodeProto { OpType = "Add", Input = { "ids", "one" }, Output = { "ids_next" } });
        graph.Node.Add(new NodeProto { OpType = "Add", Input = { "values", "values" }, Output = { "values_twice" } });
        graph.Node.Add(new NodeProto { OpType = "Identity", Input = { "counts" }, Output = { "counts_same" } });
        graph.Node.Add(new NodeProto { OpType = "Not", Input = { "flags" }, Output = { "flags_not" } });
        return ModelBytes(graph);
    }

    private const int Float16 = (int)TensorProto.Types.DataType.Float16;
    private const int BFloat16 = (int)TensorProto.Types.DataType.Bfloat16;
    private const int String = (int)TensorProto.Types.DataType.String;

    /// <summary>"x" of <paramref name="elementType"/> [n] → "same" (Identity) and "as_float" FP32 (Cast): the value comes back as sent, and as a float.</summary>
    public static byte[] IdentityAndCast(int elementType)
    {
        var graph = new GraphProto { Name = "identity-cast" };
        graph.Input.Add(Value("x", elementType, "n"));
        graph.Output.Add(Value("same", elementType, "n"));
        graph.Output.Add(Value("as_float", Float, "n"));
        graph.Node.Add(new NodeProto { OpType = "Identity", Input = { "x" }, Output = { "same" } });
        graph.Node.Add(new NodeProto { OpType = "Cast", Input = { "x" }, Output = { "as_float" }, Attribute = { Attr("to", Float) } });
        return ModelBytes(graph);
    }

    /// <summary>FP16 in: "x" FP16 [n] → "same" FP16, "as_float" FP32.</summary>
    public static byte[] Half() => IdentityAndCast(Float16);

    /// <summary>BF16 in: "x" BF16 [n] → "same" BF16, "as_float" FP32.</summary>
    public static byte[] BHalf() => IdentityAndCast(BFloat16);

    /// <summary>"f" FP32 [n] → "half" FP16 and "bhalf" BF16 (Cast): FP16/BF16 outputs for a request that can be typed.</summary>
    public static byte[] ToHalves()
    {
        var graph = new GraphProto { Name = "to-halves" };
        graph.Input.Add(Value("f", Float, "n"));
        graph.Output.Add(Value("half", Float16, "n"));
        graph.Output.Add(Value("bhalf", BFloat16, "n"));
        graph.Node.Add(new NodeProto { OpType = "Cast", Input = { "f" }, Output = { "half" }, Attribute = { Attr("to", Float16) } });
        graph.Node.Add(new NodeProto { OpType = "Cast", Input = { "f" }, Output = { "bhalf" }, Attribute = { Attr("to", BFloat16) } });
        return ModelBytes(graph);
    }

    /// <summary>BYTES: "text" STRING [n,2] → "text_same" (Identity).</summary>
    public static byte[] Strings()
    {
        var graph = new GraphProto { Name = "strings" };
        graph.Input.Add(Value("text", String, "n", 2));
        graph.Output.Add(Value("text_same", String, "n", 2));
        graph.Node.Add(new NodeProto { OpType = "Identity", Input = { "text" }, Output = { "text_same" } });
        return ModelBytes(graph);
    }

    /// <summary>An input that is a sequence of tensors, which this server does not serve.</summary>
    public static byte[] SequenceInput()
    {
        // The shared onnx.proto carries tensor types only; protobuf keeps unknown fields, so the sequence
        // type is written by hand: TypeProto{sequence_type(4): Sequence{elem_type(1): TypeProto{tensor_type(1): Tensor{elem_type: FLOAT}}}}.
        var sequence = TypeProto.Parser.ParseFrom([0x22, 0x06, 0x0A, 0x04, 0x0A, 0x02, 0x08, (byte)Float]);
        var graph = new GraphProto { Name = "sequence" };
        graph.Input.Add(new ValueInfoProto { Name = "xs", Type = sequence });
        graph.Output.Add(new ValueInfoProto { Name = "ys", Type = sequence.Clone() });
        graph.Node.Add(new NodeProto { OpType = "Identity", Input = { "xs" }, Output = { "ys" } });
        return ModelBytes(graph);
    }

    /// <summary>
    /// "input" FP32 [batch,1] → Reshape to a fixed [1,1] → "output": loads and warms up on one row, and
    /// fails inside ONNX Runtime for any call of two rows or more (a broken model, not a bad request).
    /// </summary>
    public static byte[] FailsBeyondOneRow()
    {
        var graph = new GraphProto { Name = "fails-beyond-one-row" };
        graph.Input.Add(Value("input", Float, "batch", 1));
        graph.Output.Add(Value("output", Float, "batch", 1));
        graph.Initializer.Add(new TensorProto { Name = "shape", DataType = Int64, Dims = { 2 }, Int64Data = { 1, 1 } });
        graph.Node.Add(new NodeProto { OpType = "Reshape", Input = { "input", "shape" }, Output = { "output" } });
        return ModelBytes(graph);
    }

    /// <summary>A graph with an operator ONNX Runtime does not know: the session cannot be created.</summary>
    public static byte[] UnknownOperator()
    {
        var graph = new GraphProto { Name = "unknown-op" };
        graph.Input.Add(Value("x", Float, "n"));
        graph.Output.Add(Value("y", Float, "n"));
        graph.Node.Add(new NodeProto { OpType = "NoSuchOperator", Input = { "x" }, Output = { "y" } });
        return ModelBytes(graph);
    }

    /// <summary>Bytes that are no ONNX model at all.</summary>
    public static byte[] Corrupt() => "this is not an onnx model"u8.ToArray();

    private static AttributeProto Attr(string name, int value) =>
        new() { Name = name, I = value, Type = AttributeProto.Types.AttributeType.Int };

    private static byte[] ModelBytes(GraphProto graph) => new ModelProto
    {
        IrVersion = 8,
        ProducerName = "maas-inference-tests",
        Graph = graph,
        OpsetImport = { new OperatorSetIdProto { Version = 17 } },
    }.ToByteArray();

    /// <summary>A tensor value; a string dimension is dynamic, a number fixed.</summary>
    private static ValueInfoProto Value(string name, int elementType, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d is string symbol
                ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } },
        };
    }
}
