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

    /// <summary>An input of FP16, a datatype the server does not serve yet.</summary>
    public static byte[] Half()
    {
        const int float16 = (int)TensorProto.Types.DataType.Float16;
        var graph = new GraphProto { Name = "half" };
        graph.Input.Add(Value("x", float16, "n"));
        graph.Output.Add(Value("y", float16, "n"));
        graph.Node.Add(new NodeProto { OpType = "Identity", Input = { "x" }, Output = { "y" } });
        return ModelBytes(graph);
    }

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
