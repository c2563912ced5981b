using MaaS.Onnx;
using MaaS.Onnx.Export;
using Microsoft.ML.OnnxRuntime;

namespace MaaS.Trainer.Onnx;

/// <summary>What the export check measured.</summary>
/// <param name="MaxAbsDiff">Max |ONNX Runtime − TorchSharp| over every "output" value; NaN when one is not a number.</param>
/// <param name="LabelMismatches">Rows whose "label" differs from TorchSharp's where TorchSharp's decision is not a tie.</param>
/// <param name="FirstMismatchRow">The first such row (0-based), or -1.</param>
public sealed record ExportCheck(double MaxAbsDiff, int LabelMismatches, int FirstMismatchRow)
{
    /// <summary>Whether the export may be registered.</summary>
    public bool Passed => MaxAbsDiff <= ExportVerifier.Tolerance && LabelMismatches == 0;
}

/// <summary>
/// Runs an exported model with ONNX Runtime on the training rows and measures how far it is from
/// TorchSharp's own outputs: the export is only registered when both agree.
/// </summary>
public sealed class ExportVerifier(OnnxSessionFactory sessions)
{
    /// <summary>Largest absolute difference accepted between ONNX Runtime and TorchSharp.</summary>
    public const double Tolerance = 1e-5;

    /// <summary>Max |onnx - torch| over all rows; NaN when an output is not a number.</summary>
    public double MaxAbsDiff(byte[] model, float[] features, int rows, int columns, float[] torchOutputs) =>
        Check(model, features, rows, columns, torchOutputs, null).MaxAbsDiff;

    /// <summary>
    /// Compares "output" with <paramref name="torchOutputs"/> and, when <paramref name="torchLabels"/> is given,
    /// "label" with them. A label is only held against the export where TorchSharp's probabilities are not
    /// within <see cref="Tolerance"/> of a tie: there the two runtimes may round to different sides.
    /// </summary>
    public ExportCheck Check(byte[] model, float[] features, int rows, int columns, float[] torchOutputs, long[]? torchLabels)
    {
        using var session = sessions.Create(model);
        float[] onnxOutputs;
        long[]? onnxLabels = null;
        if (torchLabels is null)
        {
            onnxOutputs = DenseModelRunner.Predict(session.Session, features, rows, columns);
        }
        else
        {
            using var input = OrtValue.CreateTensorValueFromMemory(features, [rows, columns]);
            using var runOptions = new RunOptions();
            using var outputs = session.Session.Run(runOptions, [session.Session.InputNames[0]], [input],
                [DenseNetworkExporter.Output, DenseNetworkExporter.Label]);
            onnxOutputs = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            onnxLabels = outputs[1].GetTensorDataAsSpan<long>().ToArray();
        }
        if (onnxOutputs.Length != torchOutputs.Length)
        {
            throw new InvalidDataException($"ONNX Runtime gave {onnxOutputs.Length} outputs where TorchSharp gave {torchOutputs.Length}.");
        }
        var max = 0.0;
        for (var i = 0; i < onnxOutputs.Length; i++)
        {
            var d = Math.Abs((double)onnxOutputs[i] - torchOutputs[i]);
            if (double.IsNaN(d))
            {
                max = double.NaN;
                break;
            }
            max = Math.Max(max, d);
        }
        if (torchLabels is null || onnxLabels is null) return new ExportCheck(max, 0, -1);

        if (onnxLabels.Length != rows) throw new InvalidDataException($"ONNX Runtime gave {onnxLabels.Length} labels for {rows} rows.");
        var width = torchOutputs.Length / rows;
        int mismatches = 0, first = -1;
        for (var r = 0; r < rows; r++)
        {
            if (onnxLabels[r] == torchLabels[r] || IsTie(torchOutputs.AsSpan(r * width, width))) continue;
            mismatches++;
            if (first < 0) first = r;
        }
        return new ExportCheck(max, mismatches, first);
    }

    private static bool IsTie(ReadOnlySpan<float> probabilities)
    {
        if (probabilities.Length == 1) return Math.Abs(probabilities[0] - DenseNetworkExporter.BinaryThreshold) <= Tolerance;
        float top = float.NegativeInfinity, second = float.NegativeInfinity;
        foreach (var p in probabilities)
        {
            if (p > top)
            {
                second = top;
                top = p;
            }
            else if (p > second)
            {
                second = p;
            }
        }
        return top - second <= Tolerance;
    }
}
