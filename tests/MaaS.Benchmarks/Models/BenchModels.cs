using System.Buffers.Binary;
using Google.Protobuf;
using Inference;
using MaaS.Onnx.Export;

namespace MaaS.Benchmarks.Models;

/// <summary>The models the benchmark loads (written by our own dense exporter) and the requests it sends.</summary>
public static class BenchModels
{
    /// <summary>Triton config of a model that takes batches but runs each request alone.</summary>
    public const string UnbatchedConfig = """{"max_batch_size":64}""";

    /// <summary>Triton config with dynamic batching.</summary>
    public const string BatchedConfig =
        """{"max_batch_size":64,"dynamic_batching":{"preferred_batch_size":[16,32],"max_queue_delay_microseconds":500}}""";

    /// <summary>The seed document's model: y = slope·x + intercept, one feature.</summary>
    public static byte[] Linear(float slope, float intercept) =>
        DenseNetworkExporter.Export([new DenseLayer(1, 1, [slope], [intercept])], graphName: "linear_regression");

    /// <summary>The compute-heavy MLP: 256 → 1024 (relu) → 1024 (relu) → 1.</summary>
    public static IReadOnlyList<DenseLayer> MlpLayers { get; } =
    [
        DenseLayer.Random(256, 1024, DenseActivation.Relu, seed: 1),
        DenseLayer.Random(1024, 1024, DenseActivation.Relu, seed: 2),
        DenseLayer.Random(1024, 1, DenseActivation.None, seed: 3),
    ];

    /// <summary>Width of the MLP's input.</summary>
    public const int MlpInputs = 256;

    /// <summary>The MLP's serialized model.</summary>
    public static byte[] Mlp() => DenseNetworkExporter.Export(MlpLayers, graphName: "mlp");

    /// <summary>Parameters of the MLP.</summary>
    public static long MlpParameters => DenseNetworkExporter.ParameterCount(MlpLayers);

    /// <summary>RepositoryModelLoad in Triton's form: the model file as <c>file:&lt;version&gt;/model.onnx</c> and a JSON <c>config</c>.</summary>
    public static RepositoryModelLoadRequest Load(string model, long version, byte[] onnx, string config)
    {
        var request = new RepositoryModelLoadRequest { ModelName = model };
        request.Parameters["config"] = new ModelRepositoryParameter { StringParam = config };
        request.Parameters[$"file:{version}/model.onnx"] = new ModelRepositoryParameter { BytesParam = ByteString.CopyFrom(onnx) };
        return request;
    }

    /// <summary>An FP32 request of <paramref name="rows"/> × <paramref name="columns"/> in raw_input_contents (as Triton's clients send).</summary>
    public static ModelInferRequest Infer(string model, string version, int rows, int columns, Func<int, float> value)
    {
        var bytes = new byte[rows * columns * sizeof(float)];
        for (var i = 0; i < rows * columns; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), value(i));
        var request = new ModelInferRequest { ModelName = model, ModelVersion = version };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = DenseNetworkExporter.Input, Datatype = "FP32", Shape = { rows, columns } });
        request.RawInputContents.Add(ByteString.CopyFrom(bytes));
        return request;
    }

    /// <summary>The first FP32 value of the first output, raw or typed.</summary>
    public static float FirstOutput(ModelInferResponse response)
    {
        if (response.RawOutputContents.Count > 0 && response.RawOutputContents[0].Length >= 4)
        {
            return BinaryPrimitives.ReadSingleLittleEndian(response.RawOutputContents[0].Span);
        }
        if (response.Outputs.Count > 0 && response.Outputs[0].Contents?.Fp32Contents.Count > 0)
        {
            return response.Outputs[0].Contents.Fp32Contents[0];
        }
        return float.NaN;
    }
}
