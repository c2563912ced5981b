using System.Globalization;
using MaaS.Onnx.Export;
using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.V1;
using TorchSharp;
using TorchSharp.Modules;
// TorchSharp and ONNX Runtime both name a type Tensor; this file only ever means torch's.
using TorchTensor = TorchSharp.torch.Tensor;

namespace MaaS.Trainer.Training;

/// <summary>What one training run produced: verified ONNX bytes, the weights and the metrics.</summary>
/// <param name="FeatureColumns">The features, in the model's input order.</param>
/// <param name="Network">The trained layers, standardisation and head.</param>
/// <param name="Metrics">Training and validation metrics, the export check, epochs run.</param>
/// <param name="Onnx">The verified ONNX model.</param>
/// <param name="TorchPredictions">TorchSharp's "output" for every dataset row, row-major [rows, outputs].</param>
/// <param name="TorchLabels">TorchSharp's class index per row; null for regression.</param>
/// <param name="Classes">The classes; null for regression.</param>
/// <param name="EpochsRun">Epochs trained (fewer than asked when early stopping ended the run).</param>
public sealed record TrainedModel(
    IReadOnlyList<string> FeatureColumns,
    NetworkWeights Network,
    IReadOnlyDictionary<string, double> Metrics,
    byte[] Onnx,
    float[] TorchPredictions,
    long[]? TorchLabels,
    ClassMap? Classes,
    int EpochsRun)
{
    /// <summary>Weights and optimizer state after the last epoch, for an exact warm start (<see cref="TrainingCheckpoint"/>).</summary>
    public byte[] Checkpoint { get; init; } = [];

    /// <summary>The weights of a one-layer, one-output model (linear regression).</summary>
    /// <exception cref="InvalidOperationException">The model has more layers or outputs.</exception>
    public LinearWeights Weights => Network.Layers is [{ Outputs: 1 } layer]
        ? new LinearWeights(layer.Weight, layer.Bias[0])
        : throw new InvalidOperationException($"The model is {Network.Describe()}, not a linear model.");
}

/// <summary>One epoch's numbers, for progress reports.</summary>
/// <param name="Epoch">Epochs done.</param>
/// <param name="TrainLoss">Mean training loss of the epoch's steps.</param>
/// <param name="ValidationLoss">Loss on the validation split after the epoch; null without one.</param>
/// <param name="LearningRate">The learning rate of the epoch.</param>
/// <param name="Final">The run's last report (last epoch, or early stopping).</param>
public sealed record EpochProgress(int Epoch, double TrainLoss, double? ValidationLoss, double LearningRate = 0, bool Final = false);

/// <summary>
/// The training core, free of the registry and the job machinery: a table and a validated spec in,
/// weights, metrics and a verified ONNX export out. Linear and logistic regression and MLPs with
/// TorchSharp; gd/sgd (momentum), adam and adamw; mini-batches shuffled by the seed; a seeded
/// validation split; standardisation computed on the training split and baked into the graph.
/// </summary>
public sealed class ModelTrainer(ExportVerifier verifier)
{
    // torch.manual_seed sets one process-wide generator; seeding and initialising under one lock keeps
    // a job's initial weights a function of its seed when several jobs run at once.
    private static readonly Lock SeedGate = new();

    /// <summary>Trains, exports and verifies.</summary>
    /// <param name="table">The dataset.</param>
    /// <param name="spec">A spec the <see cref="Jobs.SpecValidator"/> accepted (defaults filled in).</param>
    /// <param name="warmStart">Weights (and standardisation) to start from instead of a seeded initialisation.</param>
    /// <param name="progress">Called about a hundred times per run.</param>
    /// <param name="ct">Stops between steps.</param>
    /// <param name="checkpoint">A <see cref="TrainedModel.Checkpoint"/> of the warm-start version: its weights and
    /// optimizer state replace the fresh ones, so training continues exactly where that run stopped.</param>
    /// <exception cref="TrainingFailedException">The data or the run cannot give a model; the message says why.</exception>
    public TrainedModel Train(NumericTable table, TrainingSpec spec, NetworkWeights? warmStart = null,
        Action<EpochProgress>? progress = null, CancellationToken ct = default, byte[]? checkpoint = null)
    {
        spec = Jobs.SpecValidator.WithDefaults(spec);
        var data = TrainingData.Prepare(table, spec);
        var outputs = spec.Task == TrainingTerms.MulticlassClassification ? data.Classes!.Count : 1;
        var head = spec.Task switch
        {
            TrainingTerms.BinaryClassification => DenseHead.Sigmoid,
            TrainingTerms.MulticlassClassification => DenseHead.Softmax,
            _ => DenseHead.None,
        };
        var scaler = spec.Standardize ? data.Standardization() : null;
        if (warmStart is not null) scaler = CheckWarmStart(warmStart, data, spec, outputs, head);

        using var scope = torch.NewDisposeScope();
        var run = Fit(data, spec, scaler, warmStart, checkpoint, outputs, head, progress, ct);

        var network = new NetworkWeights(run.Layers, scaler, head);
        if (run.Layers.Any(l => !l.Weight.All(float.IsFinite) || !l.Bias.All(float.IsFinite)) || !run.Outputs.All(float.IsFinite))
        {
            throw new TrainingFailedException("Training diverged: the weights are not finite numbers; lower learning_rate.");
        }

        var onnx = DenseNetworkExporter.Export(run.Layers, new DenseNetworkOptions
        {
            Standardization = scaler,
            Head = head,
            LabelOutput = head != DenseHead.None,
            GraphName = GraphName(spec),
        });
        var check = verifier.Check(onnx, data.X, data.Rows, data.FeatureCount, run.Outputs, run.Labels);
        if (!(check.MaxAbsDiff <= ExportVerifier.Tolerance))
        {
            throw new TrainingFailedException(string.Create(CultureInfo.InvariantCulture,
                $"export check failed: max abs diff {check.MaxAbsDiff:G6} > 1e-5"));
        }
        if (check.LabelMismatches > 0)
        {
            throw new TrainingFailedException(
                $"export check failed: the ONNX label differs from TorchSharp's on {check.LabelMismatches} row(s), first data row {check.FirstMismatchRow + 1}");
        }

        var metrics = Metrics(data, spec, run, outputs);
        metrics["export_max_abs_diff"] = check.MaxAbsDiff;
        metrics["epochs_run"] = run.EpochsRun;
        return new TrainedModel(data.Features, network, metrics, onnx, run.Outputs, run.Labels, data.Classes, run.EpochsRun)
        {
            Checkpoint = run.Checkpoint,
        };
    }

    /// <summary>The spec's feature columns, or every column but the label.</summary>
    public static IReadOnlyList<string> ResolveFeatures(NumericTable table, TrainingSpec spec) => TrainingData.ResolveFeatures(table, spec);

    // "linear_regression" is also the name linear models' graphs always had.
    private static string GraphName(TrainingSpec spec) => spec.Architecture;

    private sealed record FitResult(DenseLayer[] Layers, float[] Outputs, long[]? Labels, double TrainLoss, int EpochsRun, byte[] Checkpoint);

    private static FitResult Fit(TrainingData data, TrainingSpec spec, DenseStandardization? scaler, NetworkWeights? warmStart,
        byte[]? checkpoint, int outputs, DenseHead head, Action<EpochProgress>? progress, CancellationToken ct)
    {
        var n = data.FeatureCount;
        var (model, linears) = Build(spec, n, outputs);
        using (model)
        {
            if (warmStart is not null) Load(linears, warmStart);
            using var optimizer = Optimizer(spec, model.parameters());
            if (checkpoint is not null) TrainingCheckpoint.Restore(checkpoint, model, optimizer, spec);

            var all = torch.tensor(data.X, [data.Rows, n]);
            var standardized = scaler is null ? all
                : (all - torch.tensor(scaler.Mean, [n])) / torch.tensor(scaler.Scale, [n]);
            var (xTrain, yTrain) = Split(standardized, data, data.Train, spec.Task);
            var (xVal, yVal) = data.Validation.Length > 0 ? Split(standardized, data, data.Validation, spec.Task) : (null, null);
            var loss = Loss(spec);

            var batch = spec.BatchSize <= 0 || spec.BatchSize >= data.Train.Length ? data.Train.Length : spec.BatchSize;
            var shuffle = new Random(TrainingData.DeriveSeed(spec.Seed, 2));
            var order = Enumerable.Range(0, data.Train.Length).Select(i => (long)i).ToArray();
            var patience = spec.EarlyStoppingPatience;
            var best = patience > 0 ? model.parameters().Select(p => p.detach().clone()).ToArray() : [];
            var (bestLoss, bestEpoch) = (double.PositiveInfinity, 0);
            var reportEvery = Math.Max(1, spec.Epochs / 100);
            var epochsRun = 0;

            for (var epoch = 1; epoch <= spec.Epochs; epoch++)
            {
                if (spec.LrSchedule is TrainingTerms.Step or TrainingTerms.Cosine) SetLearningRate(optimizer, LearningRate(spec, epoch));
                double sum = 0;
                if (batch == data.Train.Length)
                {
                    sum = Step(model, optimizer, loss, xTrain, yTrain, ct) * batch;
                }
                else
                {
                    shuffle.Shuffle(order);
                    for (var start = 0; start < order.Length; start += batch)
                    {
                        using var step = torch.NewDisposeScope();
                        var size = Math.Min(batch, order.Length - start);
                        var index = torch.tensor(order.AsSpan(start, size).ToArray(), [size]);
                        sum += Step(model, optimizer, loss, xTrain.index_select(0, index), yTrain.index_select(0, index), ct) * size;
                    }
                }
                var trainLoss = sum / data.Train.Length;
                epochsRun = epoch;
                if (!double.IsFinite(trainLoss))
                {
                    throw new TrainingFailedException(
                        $"Training diverged at epoch {epoch}: the loss is {trainLoss.ToString(CultureInfo.InvariantCulture)}; lower learning_rate.");
                }

                double? valLoss = xVal is null ? null : Evaluate(model, loss, xVal, yVal!);
                var stop = false;
                if (patience > 0 && valLoss is { } v)
                {
                    if (v < bestLoss - spec.EarlyStoppingMinDelta)
                    {
                        (bestLoss, bestEpoch) = (v, epoch);
                        Copy(model.parameters(), best);
                    }
                    else
                    {
                        stop = epoch - bestEpoch >= patience;
                    }
                }
                if (stop || epoch % reportEvery == 0 || epoch == spec.Epochs)
                {
                    progress?.Invoke(new EpochProgress(epoch, trainLoss, valLoss, optimizer.ParamGroups.First().LearningRate, stop || epoch == spec.Epochs));
                }
                if (stop) break;
            }
            if (patience > 0 && bestEpoch > 0)
            {
                // Early stopping keeps the weights of the best validation epoch, not the last one.
                using var noGrad = torch.no_grad();
                foreach (var (p, b) in model.parameters().Zip(best)) p.copy_(b);
            }

            float[] outputValues;
            long[]? labels = null;
            using (torch.no_grad())
            {
                var logits = model.forward(standardized);
                var probabilities = head switch
                {
                    DenseHead.Sigmoid => torch.sigmoid(logits),
                    DenseHead.Softmax => torch.nn.functional.softmax(logits, 1),
                    _ => logits,
                };
                outputValues = probabilities.data<float>().ToArray();
                if (head == DenseHead.Sigmoid) labels = outputValues.Select(p => p >= DenseNetworkExporter.BinaryThreshold ? 1L : 0L).ToArray();
                else if (head == DenseHead.Softmax) labels = probabilities.argmax(1).data<long>().ToArray();
            }
            var finalLoss = Evaluate(model, loss, xTrain, yTrain);
            var layers = linears.Select((l, i) => new DenseLayer(
                (int)l.in_features, (int)l.out_features,
                l.weight!.data<float>().ToArray(), l.bias!.data<float>().ToArray(),
                i < linears.Count - 1 ? Activation(spec.Activation) : DenseActivation.None)).ToArray();
            return new FitResult(layers, outputValues, labels, finalLoss, epochsRun, TrainingCheckpoint.Save(model, optimizer, spec));
        }
    }

    // One optimizer step on a batch; returns the batch's loss before the step.
    private static double Step(torch.nn.Module<TorchTensor, TorchTensor> model, torch.optim.Optimizer optimizer,
        Func<TorchTensor, TorchTensor, TorchTensor> loss, TorchTensor x, TorchTensor y, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var step = torch.NewDisposeScope();
        optimizer.zero_grad();
        var value = loss(model.forward(x), y);
        value.backward();
        optimizer.step();
        return value.item<float>();
    }

    private static double Evaluate(torch.nn.Module<TorchTensor, TorchTensor> model, Func<TorchTensor, TorchTensor, TorchTensor> loss, TorchTensor x, TorchTensor y)
    {
        using var step = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return loss(model.forward(x), y).item<float>();
    }

    private static (TorchTensor X, TorchTensor Y) Split(TorchTensor standardized, TrainingData data, int[] rows, string task)
    {
        // Without a split the training rows are all rows in table order: the tensor as it is.
        var x = rows.Length == data.Rows ? standardized : standardized.index_select(0, torch.tensor(rows.Select(r => (long)r).ToArray(), [rows.Length]));
        var labels = data.LabelsOf(rows);
        var y = task == TrainingTerms.MulticlassClassification
            ? torch.tensor(labels.Select(v => (long)v).ToArray(), [rows.Length])
            : torch.tensor(labels, [rows.Length, 1]);
        return (x, y);
    }

    private static (Sequential Model, List<Linear> Linears) Build(TrainingSpec spec, int features, int outputs)
    {
        int[] widths = [.. spec.HiddenSizes, outputs];
        var modules = new List<(string, torch.nn.Module<TorchTensor, TorchTensor>)>();
        var linears = new List<Linear>();
        lock (SeedGate)
        {
            torch.manual_seed(spec.Seed);
            var inputs = features;
            for (var i = 0; i < widths.Length; i++)
            {
                var linear = torch.nn.Linear(inputs, widths[i]);
                linears.Add(linear);
                modules.Add(($"linear{i}", linear));
                if (i < widths.Length - 1) modules.Add(($"{spec.Activation}{i}", ActivationModule(spec.Activation)));
                inputs = widths[i];
            }
        }
        return (torch.nn.Sequential(modules), linears);
    }

    private static void Load(List<Linear> linears, NetworkWeights warmStart)
    {
        using var noGrad = torch.no_grad();
        for (var i = 0; i < linears.Count; i++)
        {
            var layer = warmStart.Layers[i];
            linears[i].weight!.copy_(torch.tensor(layer.Weight, [layer.Outputs, layer.Inputs]));
            linears[i].bias!.copy_(torch.tensor(layer.Bias, [layer.Outputs]));
        }
    }

    private static void Copy(IEnumerable<TorchTensor> from, TorchTensor[] to)
    {
        using var noGrad = torch.no_grad();
        foreach (var (p, b) in from.Zip(to)) b.copy_(p);
    }

    private static torch.optim.Optimizer Optimizer(TrainingSpec spec, IEnumerable<Parameter> parameters) => spec.Optimizer switch
    {
        TrainingTerms.Adam => torch.optim.Adam(parameters, spec.LearningRate, weight_decay: spec.WeightDecay),
        TrainingTerms.AdamW => torch.optim.AdamW(parameters, spec.LearningRate, weight_decay: spec.WeightDecay),
        // gd is sgd over the whole training split; the batch size makes the difference.
        _ => torch.optim.SGD(parameters, spec.LearningRate, momentum: spec.Momentum, weight_decay: spec.WeightDecay),
    };

    private static void SetLearningRate(torch.optim.Optimizer optimizer, double learningRate)
    {
        foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;
    }

    private static double LearningRate(TrainingSpec spec, int epoch) => spec.LrSchedule switch
    {
        TrainingTerms.Step => spec.LearningRate * Math.Pow(spec.LrGamma, (epoch - 1) / spec.LrStepEpochs),
        TrainingTerms.Cosine => spec.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1) / spec.Epochs)),
        _ => spec.LearningRate,
    };

    private static Func<TorchTensor, TorchTensor, TorchTensor> Loss(TrainingSpec spec) => spec.Loss switch
    {
        TrainingTerms.Mae => (p, y) => torch.nn.functional.l1_loss(p, y),
        TrainingTerms.Huber => (p, y) => torch.nn.functional.huber_loss(p, y, spec.HuberDelta),
        // The network ends in logits; the head (sigmoid, softmax) is applied outside the loss, which is
        // then computed from logits: stable where a saturated probability would give log(0).
        TrainingTerms.BinaryCrossEntropy => (p, y) => torch.nn.functional.binary_cross_entropy_with_logits(p, y),
        TrainingTerms.CrossEntropy => (p, y) => torch.nn.functional.cross_entropy(p, y),
        _ => (p, y) => torch.nn.functional.mse_loss(p, y),
    };

    private static DenseActivation Activation(string name) => name switch
    {
        TrainingTerms.Tanh => DenseActivation.Tanh,
        TrainingTerms.Sigmoid => DenseActivation.Sigmoid,
        _ => DenseActivation.Relu,
    };

    private static torch.nn.Module<TorchTensor, TorchTensor> ActivationModule(string name) => name switch
    {
        TrainingTerms.Tanh => torch.nn.Tanh(),
        TrainingTerms.Sigmoid => torch.nn.Sigmoid(),
        _ => torch.nn.ReLU(),
    };

    // The parent's standardisation, when it has one: its weights only mean something on features scaled that way.
    private static DenseStandardization? CheckWarmStart(NetworkWeights warm, TrainingData data, TrainingSpec spec, int outputs, DenseHead head)
    {
        if (warm.Features != data.FeatureCount)
        {
            throw new TrainingFailedException(
                $"The warm-start version takes {warm.Features} feature(s); this job selects {data.FeatureCount} ({string.Join(", ", data.Features)}).");
        }
        var act = Activation(spec.Activation);
        int[] widths = [.. spec.HiddenSizes, outputs];
        var inputs = data.FeatureCount;
        var expected = widths.Select((w, i) =>
        {
            var layer = new DenseLayer(inputs, w, [], [], i < widths.Length - 1 ? act : DenseActivation.None);
            inputs = w;
            return layer;
        }).ToList();
        var wanted = new NetworkWeights(expected);
        if (wanted.Describe() != warm.Describe())
        {
            throw new TrainingFailedException($"The warm-start version has layers [{warm.Describe()}]; this job's spec makes [{wanted.Describe()}].");
        }
        if (warm.Head != head)
        {
            throw new TrainingFailedException(
                $"The warm-start version ends in a {warm.Head.ToString().ToLowerInvariant()} head; spec.task {spec.Task} needs {head.ToString().ToLowerInvariant()}.");
        }
        if ((warm.Standardization is not null) != spec.Standardize)
        {
            throw new TrainingFailedException(warm.Standardization is null
                ? "The warm-start version takes raw features; set spec.standardize to false to continue it."
                : "The warm-start version standardises its features; set spec.standardize to true to continue it.");
        }
        return warm.Standardization;
    }

    private static Dictionary<string, double> Metrics(TrainingData data, TrainingSpec spec, FitResult run, int outputs)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal) { ["train_loss"] = run.TrainLoss };
        foreach (var (prefix, rows) in new[] { ("train_", data.Train), ("val_", data.Validation) })
        {
            if (rows.Length == 0) continue;
            var values = rows.SelectMany(r => run.Outputs.AsSpan(r * outputs, outputs).ToArray()).ToArray();
            var labels = data.LabelsOf(rows);
            if (data.Classes is null)
            {
                ModelMetrics.Regression(metrics, prefix, values, labels);
            }
            else
            {
                ModelMetrics.Classification(metrics, prefix, values, rows.Select(r => run.Labels![r]).ToArray(), labels, data.Classes.Count);
            }
        }
        // "r2" has always been the training R² of a regression; kept for readers of older versions.
        if (metrics.TryGetValue("train_r2", out var r2)) metrics["r2"] = r2;
        return metrics;
    }
}
