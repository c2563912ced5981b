using System.Globalization;
using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.V1;
using TorchSharp;
using TorchSharp.Modules;
// TorchSharp and ONNX Runtime both name a type Tensor; this file only ever means torch's.
using TorchTensor = TorchSharp.torch.Tensor;

namespace MaaS.Trainer.Training;

/// <summary>What one training run produced: verified ONNX bytes, the weights and the metrics.</summary>
public sealed record TrainedModel(
    IReadOnlyList<string> FeatureColumns,
    LinearWeights Weights,
    IReadOnlyDictionary<string, double> Metrics,
    byte[] Onnx,
    float[] TorchPredictions);

/// <summary>
/// The training core, free of the registry and the job machinery: a table and a spec in, weights,
/// metrics and a verified ONNX export out. Linear regression with TorchSharp: nn.Linear(n, 1), SGD,
/// MSE, full-batch gradient steps.
/// </summary>
public sealed class LinearRegressionTrainer(ExportVerifier verifier)
{
    // torch.manual_seed sets one process-wide generator; seeding and initialising under one lock keeps
    // a job's initial weights a function of its seed when several jobs run at once.
    private static readonly Lock SeedGate = new();

    /// <summary>Trains, exports and verifies.</summary>
    /// <param name="table">The dataset.</param>
    /// <param name="spec">A validated spec (epochs, learning rate, seed, columns).</param>
    /// <param name="warmStart">Weights to start from instead of a seeded initialisation.</param>
    /// <param name="progress">Called with (epochs done, loss) about a hundred times per run.</param>
    /// <param name="ct">Stops between epochs.</param>
    /// <exception cref="TrainingFailedException">The data or the run cannot give a model; the message says why.</exception>
    public TrainedModel Train(NumericTable table, TrainingSpec spec, LinearWeights? warmStart = null,
        Action<int, double>? progress = null, CancellationToken ct = default)
    {
        var features = ResolveFeatures(table, spec);
        var rows = table.Rows.Count;
        if (rows == 0) throw new TrainingFailedException("The dataset has no rows.");
        var x = table.ToFloatMatrix(features);
        var y = table.ToFloatMatrix([spec.LabelColumn]);
        RequireFinite(x, features, table);
        RequireFinite(y, [spec.LabelColumn], table);
        if (warmStart is not null && warmStart.Features != features.Count)
        {
            throw new TrainingFailedException(
                $"The warm-start version takes {warmStart.Features} feature(s); this job selects {features.Count} ({string.Join(", ", features)}).");
        }

        var (weights, predictions) = Fit(x, y, rows, features.Count, spec, warmStart, progress, ct);
        if (!predictions.All(float.IsFinite) || !weights.Weight.All(float.IsFinite) || !float.IsFinite(weights.Bias))
        {
            throw new TrainingFailedException("Training diverged: the weights are not finite numbers; lower learning_rate.");
        }

        var metrics = Metrics(predictions, y);
        var onnx = LinearOnnxExporter.Export(weights);
        var diff = verifier.MaxAbsDiff(onnx, x, rows, features.Count, predictions);
        if (!(diff <= ExportVerifier.Tolerance))
        {
            throw new TrainingFailedException(string.Create(CultureInfo.InvariantCulture,
                $"export check failed: max abs diff {diff:G6} > 1e-5"));
        }
        metrics["export_max_abs_diff"] = diff;
        return new TrainedModel(features, weights, metrics, onnx, predictions);
    }

    /// <summary>The spec's feature columns, or every column but the label.</summary>
    public static IReadOnlyList<string> ResolveFeatures(NumericTable table, TrainingSpec spec)
    {
        var all = string.Join(", ", table.Columns);
        if (table.IndexOf(spec.LabelColumn) < 0)
        {
            throw new TrainingFailedException($"The label column '{spec.LabelColumn}' is not in the dataset (columns: {all}).");
        }
        var missing = spec.FeatureColumns.FirstOrDefault(c => table.IndexOf(c) < 0);
        if (missing is not null)
        {
            throw new TrainingFailedException($"The feature column '{missing}' is not in the dataset (columns: {all}).");
        }
        var features = spec.FeatureColumns.Count > 0
            ? [.. spec.FeatureColumns]
            : table.Columns.Where(c => c != spec.LabelColumn).ToList();
        if (features.Count == 0)
        {
            throw new TrainingFailedException($"The dataset has no feature columns besides the label '{spec.LabelColumn}'.");
        }
        return features;
    }

    private static (LinearWeights Weights, float[] Predictions) Fit(float[] x, float[] y, int rows, int n,
        TrainingSpec spec, LinearWeights? warmStart, Action<int, double>? progress, CancellationToken ct)
    {
        // Every tensor made inside the scope (inputs, per-epoch graphs, outputs) is freed when it ends;
        // the module and the optimizer own native memory of their own and are disposed explicitly.
        using var scope = torch.NewDisposeScope();
        Linear model;
        lock (SeedGate)
        {
            torch.manual_seed(spec.Seed);
            model = torch.nn.Linear(n, 1);
        }
        using (model)
        {
            if (warmStart is not null)
            {
                using var noGrad = torch.no_grad();
                model.weight!.copy_(torch.tensor(warmStart.Weight, [1, n]));
                model.bias!.copy_(torch.tensor(new[] { warmStart.Bias }, [1]));
            }
            using var optimizer = torch.optim.SGD(model.parameters(), spec.LearningRate);
            TorchTensor input = torch.tensor(x, [rows, n]);
            TorchTensor target = torch.tensor(y, [rows, 1]);

            var reportEvery = Math.Max(1, spec.Epochs / 100);
            for (var epoch = 1; epoch <= spec.Epochs; epoch++)
            {
                ct.ThrowIfCancellationRequested();
                using var step = torch.NewDisposeScope();
                optimizer.zero_grad();
                var loss = torch.nn.functional.mse_loss(model.forward(input), target);
                loss.backward();
                optimizer.step();
                var lossValue = loss.item<float>();
                if (!float.IsFinite(lossValue))
                {
                    throw new TrainingFailedException(
                        $"Training diverged at epoch {epoch}: the loss is {lossValue.ToString(CultureInfo.InvariantCulture)}; lower learning_rate.");
                }
                if (epoch % reportEvery == 0 || epoch == spec.Epochs) progress?.Invoke(epoch, lossValue);
            }

            float[] predictions;
            using (torch.no_grad())
            {
                predictions = model.forward(input).data<float>().ToArray();
            }
            var weight = model.weight!.data<float>().ToArray();
            var bias = model.bias!.data<float>().ToArray()[0];
            return (new LinearWeights(weight, bias), predictions);
        }
    }

    private static Dictionary<string, double> Metrics(float[] predictions, float[] labels)
    {
        double sq = 0, abs = 0, mean = labels.Average(v => (double)v), total = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var d = (double)predictions[i] - labels[i];
            sq += d * d;
            abs += Math.Abs(d);
            total += (labels[i] - mean) * (labels[i] - mean);
        }
        // A constant label has no variance to explain: r2 is 1 for a perfect fit and 0 otherwise (as scikit-learn does).
        var r2 = total > 0 ? 1 - sq / total : sq == 0 ? 1 : 0;
        return new Dictionary<string, double>
        {
            ["train_mse"] = sq / labels.Length,
            ["train_mae"] = abs / labels.Length,
            ["r2"] = r2,
        };
    }

    private static void RequireFinite(float[] matrix, IReadOnlyList<string> columns, NumericTable table)
    {
        for (var i = 0; i < matrix.Length; i++)
        {
            if (!float.IsFinite(matrix[i]))
            {
                throw new TrainingFailedException(
                    $"Data row {i / columns.Count + 1}, column '{columns[i % columns.Count]}' is not a finite FP32 number ({table.Rows[i / columns.Count][table.IndexOf(columns[i % columns.Count])].ToString(CultureInfo.InvariantCulture)}).");
            }
        }
    }
}
