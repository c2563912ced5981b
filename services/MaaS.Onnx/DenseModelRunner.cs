using Microsoft.ML.OnnxRuntime;

namespace MaaS.Onnx;

/// <summary>
/// Runs a model with one FP32 input [rows, features] and one FP32 output [rows, k]: the shape of
/// every model the trainer exports. Used to check an export and to score versions on held-out rows.
/// </summary>
public static class DenseModelRunner
{
    /// <summary>Runs the model on row-major features and returns the first output, row-major.</summary>
    public static float[] Predict(InferenceSession session, float[] features, int rows, int columns)
    {
        if (features.Length != rows * columns)
        {
            throw new ArgumentException($"features holds {features.Length} values, not rows × columns = {rows * columns}.", nameof(features));
        }
        var inputName = session.InputNames[0];
        var outputName = session.OutputNames[0];
        using var input = OrtValue.CreateTensorValueFromMemory(features, [rows, columns]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [inputName], [input], [outputName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Mean squared error of single-output predictions against labels.</summary>
    public static double MeanSquaredError(ReadOnlySpan<float> predictions, ReadOnlySpan<float> labels)
    {
        if (predictions.Length != labels.Length || labels.Length == 0)
        {
            throw new ArgumentException("predictions and labels must be non-empty and of equal length.");
        }
        double sum = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var d = (double)predictions[i] - labels[i];
            sum += d * d;
        }
        return sum / labels.Length;
    }
}
