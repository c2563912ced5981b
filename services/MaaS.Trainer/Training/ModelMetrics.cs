namespace MaaS.Trainer.Training;

/// <summary>
/// The metrics a data scientist reads off a version, computed in double precision from the FP32
/// outputs the model serves: MSE, MAE and R² for regression; accuracy, macro precision, recall and F1,
/// and log-loss for classification.
/// </summary>
public static class ModelMetrics
{
    /// <summary>Adds prefix + mse, mae, r2 of single-output predictions.</summary>
    public static void Regression(IDictionary<string, double> metrics, string prefix, float[] predictions, float[] labels)
    {
        if (labels.Length == 0) return;
        double sq = 0, abs = 0, mean = labels.Average(v => (double)v), total = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var d = (double)predictions[i] - labels[i];
            sq += d * d;
            abs += Math.Abs(d);
            total += (labels[i] - mean) * (labels[i] - mean);
        }
        // A constant label has no variance to explain: r2 is 1 for a perfect fit and 0 otherwise (as scikit-learn does).
        metrics[prefix + "mse"] = sq / labels.Length;
        metrics[prefix + "mae"] = abs / labels.Length;
        metrics[prefix + "r2"] = total > 0 ? 1 - sq / total : sq == 0 ? 1 : 0;
    }

    /// <summary>
    /// Adds prefix + accuracy, precision_macro, recall_macro, f1_macro and log_loss. <paramref name="probabilities"/>
    /// is [rows, 1] (positive class) for two classes with one output, else [rows, classes].
    /// </summary>
    public static void Classification(IDictionary<string, double> metrics, string prefix, float[] probabilities, long[] predicted,
        float[] classIndexes, int classes)
    {
        var rows = classIndexes.Length;
        if (rows == 0) return;
        var width = probabilities.Length / rows;
        var tp = new double[classes];
        var fp = new double[classes];
        var fn = new double[classes];
        double correct = 0, logLoss = 0;
        for (var r = 0; r < rows; r++)
        {
            var truth = (int)classIndexes[r];
            var guess = (int)predicted[r];
            if (truth == guess)
            {
                correct++;
                tp[truth]++;
            }
            else
            {
                fp[guess]++;
                fn[truth]++;
            }
            double p = width == 1
                ? (truth == 1 ? probabilities[r] : 1 - (double)probabilities[r])
                : probabilities[r * width + truth];
            // Clipped as scikit-learn does, so one saturated probability costs ~34.5 instead of infinity.
            logLoss -= Math.Log(Math.Clamp(p, 1e-15, 1 - 1e-15));
        }
        double precision = 0, recall = 0, f1 = 0;
        for (var c = 0; c < classes; c++)
        {
            // A class never predicted (or never present) scores 0, scikit-learn's zero_division default.
            var pc = tp[c] + fp[c] > 0 ? tp[c] / (tp[c] + fp[c]) : 0;
            var rc = tp[c] + fn[c] > 0 ? tp[c] / (tp[c] + fn[c]) : 0;
            precision += pc;
            recall += rc;
            f1 += pc + rc > 0 ? 2 * pc * rc / (pc + rc) : 0;
        }
        metrics[prefix + "accuracy"] = correct / rows;
        metrics[prefix + "precision_macro"] = precision / classes;
        metrics[prefix + "recall_macro"] = recall / classes;
        metrics[prefix + "f1_macro"] = f1 / classes;
        metrics[prefix + "log_loss"] = logLoss / rows;
    }
}
