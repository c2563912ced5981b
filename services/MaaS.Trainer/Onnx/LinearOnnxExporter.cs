using Google.Protobuf;
using global::Onnx;
using MaaS.Trainer.Training;

namespace MaaS.Trainer.Onnx;

/// <summary>
/// Writes a linear model as ONNX with our own subset of the ONNX schema (TorchSharp has no ONNX
/// export): input "input" FP32 ["batch", n], initializers "weight" [1, n] and "bias" [1], one Gemm
/// node with transB = 1 so torch's weight layout is used as is, output "output" FP32 ["batch", 1].
/// </summary>
public static class LinearOnnxExporter
{
    /// <summary>ONNX IR version written (IR 8 goes with opset 17).</summary>
    public const long IrVersion = 8;

    /// <summary>Default-domain opset written.</summary>
    public const long Opset = 17;

    /// <summary>producer_name of every model the trainer writes.</summary>
    public const string Producer = "maas-trainer";

    /// <summary>Names of the graph's tensors, shared with the reader and the registered signature.</summary>
    public const string Input = "input", Output = "output", Weight = "weight", Bias = "bias", BatchDim = "batch";

    /// <summary>The serialized model.</summary>
    public static byte[] Export(LinearWeights weights)
    {
        if (weights.Features < 1) throw new ArgumentException("A linear model needs at least one feature.", nameof(weights));
        var n = weights.Features;
        var gemm = new NodeProto { Name = "linear", OpType = "Gemm", Input = { Input, Weight, Bias }, Output = { Output } };
        gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = Producer,
            ProducerVersion = "1",
            Graph = new GraphProto
            {
                Name = "linear_regression",
                Node = { gemm },
                Initializer = { FloatTensor(Weight, [1, n], weights.Weight), FloatTensor(Bias, [1], [weights.Bias]) },
                Input = { FloatValue(Input, n) },
                Output = { FloatValue(Output, 1) },
            },
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = Opset } },
        };
        return model.ToByteArray();
    }

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
