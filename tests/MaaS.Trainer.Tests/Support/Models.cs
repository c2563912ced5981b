using MaaS.Onnx;
using MaaS.Onnx.Export;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.Training;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace MaaS.Trainer.Tests.Support;

/// <summary>The real training core and ONNX Runtime, built without a host.</summary>
public static class Models
{
    /// <summary>ONNX Runtime on the CPU, as the trainer checks exports.</summary>
    public static OnnxSessionFactory Sessions { get; } =
        new(Options.Create(new OnnxRuntimeOptions { PreferCuda = false }), NullLogger<OnnxSessionFactory>.Instance);

    /// <summary>A trainer with a real export check.</summary>
    public static ModelTrainer Trainer() => new(new ExportVerifier(Sessions));

    /// <summary>Runs a classifier export with ONNX Runtime: "output", "label" and the label's shape.</summary>
    public static (float[] Output, long[] Label, long[] LabelShape) RunClassifier(byte[] onnx, float[] x, int rows, int columns)
    {
        using var session = Sessions.Create(onnx);
        using var input = OrtValue.CreateTensorValueFromMemory(x, [rows, columns]);
        using var runOptions = new RunOptions();
        using var outputs = session.Session.Run(runOptions, ["input"], [input], [DenseNetworkExporter.Output, DenseNetworkExporter.Label]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<long>().ToArray(),
            outputs[1].GetTensorTypeAndShape().Shape);
    }

    /// <summary>Runs a model's first output with ONNX Runtime.</summary>
    public static float[] Run(byte[] onnx, float[] x, int rows, int columns)
    {
        using var session = Sessions.Create(onnx);
        return DenseModelRunner.Predict(session.Session, x, rows, columns);
    }
}
