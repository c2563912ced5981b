using MaaS.Onnx;

namespace MaaS.Trainer.Onnx;

/// <summary>
/// Runs an exported model with ONNX Runtime on the training rows and measures how far it is from
/// TorchSharp's own outputs: the export is only registered when both agree.
/// </summary>
public sealed class ExportVerifier(OnnxSessionFactory sessions)
{
    /// <summary>Largest absolute difference accepted between ONNX Runtime and TorchSharp.</summary>
    public const double Tolerance = 1e-5;

    /// <summary>Max |onnx - torch| over all rows; NaN when an output is not a number.</summary>
    public double MaxAbsDiff(byte[] model, float[] features, int rows, int columns, float[] torchOutputs)
    {
        using var session = sessions.Create(model);
        var onnxOutputs = DenseModelRunner.Predict(session.Session, features, rows, columns);
        if (onnxOutputs.Length != torchOutputs.Length)
        {
            throw new InvalidDataException($"ONNX Runtime gave {onnxOutputs.Length} outputs for {torchOutputs.Length} rows.");
        }
        var max = 0.0;
        for (var i = 0; i < onnxOutputs.Length; i++)
        {
            var d = Math.Abs((double)onnxOutputs[i] - torchOutputs[i]);
            if (double.IsNaN(d)) return double.NaN;
            max = Math.Max(max, d);
        }
        return max;
    }
}
