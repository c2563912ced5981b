using System.Globalization;
using MaaS.Registry.V1;

namespace MaaS.Updater.Gate;

/// <summary>What a version predicts: a value, or a class among known label values.</summary>
/// <param name="Name">regression, binary_classification or multiclass_classification.</param>
/// <param name="ClassValues">Label value of class i (from the version's class_values); empty for regression.</param>
public sealed record ModelTask(string Name, IReadOnlyList<double> ClassValues)
{
    /// <summary>Task names, as the trainer writes them.</summary>
    public const string Regression = "regression", Binary = "binary_classification", Multiclass = "multiclass_classification";

    /// <summary>Whether the version predicts a class.</summary>
    public bool IsClassification => Name is Binary or Multiclass;

    /// <summary>Read from a version's hyper-parameters (task, class_values, architecture).</summary>
    public static ModelTask Of(ModelVersion version)
    {
        var h = version.Hyperparameters;
        var values = h.TryGetValue("class_values", out var text) && text.Length > 0
            ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()
            : [];
        var task = h.TryGetValue("task", out var t) && t.Length > 0 ? t
            : values.Length > 2 ? Multiclass
            : values.Length > 0 || (h.TryGetValue("architecture", out var a) && a == "logistic_regression") ? Binary
            : Regression;
        return new ModelTask(task, values);
    }
}

/// <summary>A score and the rows it was computed on.</summary>
/// <param name="Value">The metric's value.</param>
/// <param name="Rows">Rows scored.</param>
/// <param name="Skipped">Rows left out because their label is not a class the model knows.</param>
public sealed record MetricScore(double Value, int Rows, int Skipped);

/// <summary>
/// The gate metrics, computed in double precision from the FP32 outputs a version serves, the way the
/// trainer computes a version's metrics (so a held-out score and a validation score compare):
/// mse, mae, r2 for regression; accuracy, macro f1 and log-loss (clipped at 1e-15) for classification,
/// from the probability output (one sigmoid column, or one softmax column per class).
/// </summary>
public static class GateMetrics
{
    /// <summary>Metric names.</summary>
    public const string Mse = "mse", Mae = "mae", R2 = "r2", Accuracy = "accuracy", F1 = "f1", LogLoss = "log_loss";

    /// <summary>Metrics of a regression.</summary>
    public static readonly string[] ForRegression = [Mse, Mae, R2];

    /// <summary>Metrics of a classifier.</summary>
    public static readonly string[] ForClassification = [Accuracy, F1, LogLoss];

    /// <summary>Every metric.</summary>
    public static readonly string[] All = [.. ForRegression, .. ForClassification];

    /// <summary>Whether a larger value is better (accuracy, f1, r2) rather than a smaller one (errors).</summary>
    public static bool HigherIsBetter(string metric) => metric is Accuracy or F1 or R2;

    /// <summary>Whether a metric scores the task.</summary>
    public static bool Fits(string metric, ModelTask task) => (task.IsClassification ? ForClassification : ForRegression).Contains(metric);

    /// <summary>The policy's metric, or the task's default (mse, accuracy) when the policy names none.</summary>
    public static string Resolve(string policyMetric, ModelTask task) =>
        policyMetric.Length > 0 ? policyMetric : task.IsClassification ? Accuracy : Mse;

    /// <summary>The name of the metric in a version's metrics (the trainer writes f1 as f1_macro).</summary>
    public static string VersionMetricName(string metric) => metric == F1 ? "f1_macro" : metric;

    /// <summary>
    /// The version's own score on its validation rows (val_*), or on its training rows when it had no
    /// validation split (train_*); null when it records neither.
    /// </summary>
    public static (double Value, string Source)? RecordedScore(ModelVersion version, string metric)
    {
        var name = VersionMetricName(metric);
        if (version.Metrics.TryGetValue("val_" + name, out var val)) return (val, "val_" + name);
        if (version.Metrics.TryGetValue("train_" + name, out var train)) return (train, "train_" + name);
        return null;
    }

    /// <summary>Scores outputs [rows, width] against labels (the label values as stored, not class indexes).</summary>
    /// <exception cref="ArgumentException">The outputs do not fit the task, or no row can be scored.</exception>
    public static MetricScore Score(string metric, ReadOnlySpan<float> outputs, int width, IReadOnlyList<double> labels, ModelTask task)
    {
        if (labels.Count == 0) throw new ArgumentException("There are no rows to score.", nameof(labels));
        if (width < 1 || outputs.Length != labels.Count * width)
        {
            throw new ArgumentException($"The model gave {outputs.Length} values for {labels.Count} rows of width {width}.", nameof(outputs));
        }
        return task.IsClassification ? Classification(metric, outputs, width, labels, task) : Regression(metric, outputs, width, labels);
    }

    private static MetricScore Regression(string metric, ReadOnlySpan<float> outputs, int width, IReadOnlyList<double> labels)
    {
        if (width != 1) throw new ArgumentException($"A regression metric needs one output per row; the model gives {width}.", nameof(outputs));
        double sq = 0, abs = 0, total = 0, mean = labels.Average();
        for (var i = 0; i < labels.Count; i++)
        {
            var d = outputs[i] - labels[i];
            sq += d * d;
            abs += Math.Abs(d);
            total += (labels[i] - mean) * (labels[i] - mean);
        }
        var value = metric switch
        {
            Mse => sq / labels.Count,
            Mae => abs / labels.Count,
            // A constant label has no variance to explain: 1 for a perfect fit, else 0 (as the trainer does).
            R2 => total > 0 ? 1 - sq / total : sq == 0 ? 1 : 0,
            _ => throw new ArgumentException($"Metric '{metric}' does not score a regression; use one of {string.Join(", ", ForRegression)}.", nameof(metric)),
        };
        return new MetricScore(value, labels.Count, 0);
    }

    private static MetricScore Classification(string metric, ReadOnlySpan<float> outputs, int width, IReadOnlyList<double> labels, ModelTask task)
    {
        if (!ForClassification.Contains(metric))
        {
            throw new ArgumentException($"Metric '{metric}' does not score a classifier; use one of {string.Join(", ", ForClassification)}.", nameof(metric));
        }
        var classes = width == 1 ? 2 : width;
        var tp = new double[classes];
        var fp = new double[classes];
        var fn = new double[classes];
        double correct = 0, logLoss = 0;
        int rows = 0, skipped = 0;
        for (var r = 0; r < labels.Count; r++)
        {
            var truth = ClassIndex(labels[r], task, classes);
            if (truth < 0)
            {
                skipped++;
                continue;
            }
            rows++;
            int guess;
            double p;
            if (width == 1)
            {
                var positive = (double)outputs[r];
                guess = positive >= 0.5 ? 1 : 0;
                p = truth == 1 ? positive : 1 - positive;
            }
            else
            {
                guess = 0;
                for (var c = 1; c < width; c++)
                {
                    if (outputs[r * width + c] > outputs[r * width + guess]) guess = c;
                }
                p = outputs[r * width + truth];
            }
            if (guess == truth)
            {
                correct++;
                tp[truth]++;
            }
            else
            {
                fp[guess]++;
                fn[truth]++;
            }
            logLoss -= Math.Log(Math.Clamp(p, 1e-15, 1 - 1e-15));
        }
        if (rows == 0)
        {
            throw new ArgumentException($"None of the {labels.Count} rows has a label among the model's classes [{string.Join(", ", task.ClassValues)}].", nameof(labels));
        }
        double f1 = 0;
        for (var c = 0; c < classes; c++)
        {
            // A class never predicted (or never present) scores 0, scikit-learn's zero_division default, as the trainer does.
            var precision = tp[c] + fp[c] > 0 ? tp[c] / (tp[c] + fp[c]) : 0;
            var recall = tp[c] + fn[c] > 0 ? tp[c] / (tp[c] + fn[c]) : 0;
            f1 += precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
        }
        var value = metric switch
        {
            Accuracy => correct / rows,
            F1 => f1 / classes,
            _ => logLoss / rows,
        };
        return new MetricScore(value, rows, skipped);
    }

    // Class i is the i-th of the version's class values; a version without them numbers its classes 0, 1, ...
    private static int ClassIndex(double label, ModelTask task, int classes)
    {
        if (task.ClassValues.Count > 0)
        {
            for (var i = 0; i < task.ClassValues.Count; i++)
            {
                if (task.ClassValues[i] == label) return i < classes ? i : -1;
            }
            return -1;
        }
        return label == Math.Round(label) && label >= 0 && label < classes ? (int)label : -1;
    }
}
