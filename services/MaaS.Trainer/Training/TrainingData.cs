using System.Globalization;
using MaaS.Onnx.Export;
using MaaS.ServiceDefaults.Data;
using MaaS.Trainer.V1;

namespace MaaS.Trainer.Training;

/// <summary>
/// A table made ready for training: the feature matrix, the labels (class indexes for a classifier),
/// the seeded train/validation split and the standardisation statistics of the training split.
/// </summary>
public sealed class TrainingData
{
    private TrainingData(IReadOnlyList<string> features, float[] x, float[] y, ClassMap? classes, int[] train, int[] validation)
    {
        Features = features;
        X = x;
        Y = y;
        Classes = classes;
        Train = train;
        Validation = validation;
    }

    /// <summary>The feature columns, in matrix order.</summary>
    public IReadOnlyList<string> Features { get; }

    /// <summary>Raw features of every row, row-major [<see cref="Rows"/>, features].</summary>
    public float[] X { get; }

    /// <summary>Per row: the label (regression) or the class index (classification).</summary>
    public float[] Y { get; }

    /// <summary>The classes, for a classification task.</summary>
    public ClassMap? Classes { get; }

    /// <summary>Indexes of the training rows, ascending.</summary>
    public int[] Train { get; }

    /// <summary>Indexes of the validation rows, ascending; empty without a validation split.</summary>
    public int[] Validation { get; }

    /// <summary>Number of rows.</summary>
    public int Rows => Y.Length;

    /// <summary>Number of features.</summary>
    public int FeatureCount => Features.Count;

    /// <summary>Reads the spec's columns from the table, checks them and splits the rows.</summary>
    /// <exception cref="TrainingFailedException">The data cannot train this spec; the message says why.</exception>
    public static TrainingData Prepare(NumericTable table, TrainingSpec spec)
    {
        var features = ResolveFeatures(table, spec);
        var rows = table.Rows.Count;
        if (rows == 0) throw new TrainingFailedException("The dataset has no rows.");
        var x = table.ToFloatMatrix(features);
        var y = table.ToFloatMatrix([spec.LabelColumn]);
        RequireFinite(x, features, table);
        RequireFinite(y, [spec.LabelColumn], table);

        ClassMap? classes = null;
        if (TrainingTerms.IsClassification(spec.Task))
        {
            var labelIndex = table.IndexOf(spec.LabelColumn);
            classes = MapClasses(table.Rows.Select(r => r[labelIndex]).ToArray(), spec);
            var index = classes.Values.Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i);
            for (var r = 0; r < rows; r++) y[r] = index[table.Rows[r][labelIndex]];
        }

        var (train, validation) = Split(rows, spec.ValidationSplit, spec.Seed);
        if (spec.BatchSize > train.Length)
        {
            throw new TrainingFailedException(
                $"spec.batch_size is {spec.BatchSize}, more than the {train.Length} training rows; use at most {train.Length} (or 0 for full batch).");
        }
        return new TrainingData(features, x, y, classes, train, validation);
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

    /// <summary>Mean and population standard deviation of each feature over the training rows (a constant feature gets scale 1).</summary>
    public DenseStandardization Standardization()
    {
        var n = FeatureCount;
        var mean = new float[n];
        var scale = new float[n];
        for (var c = 0; c < n; c++)
        {
            double sum = 0;
            foreach (var r in Train) sum += X[r * n + c];
            var m = sum / Train.Length;
            double sq = 0;
            foreach (var r in Train) sq += (X[r * n + c] - m) * (X[r * n + c] - m);
            var sd = Math.Sqrt(sq / Train.Length);
            mean[c] = (float)m;
            // Dividing by ~0 would blow a constant column up to noise; leave it centred instead.
            scale[c] = sd > 1e-12 && float.IsFinite((float)sd) && (float)sd != 0 ? (float)sd : 1f;
        }
        return new DenseStandardization(mean, scale);
    }

    /// <summary>The rows' features, row-major.</summary>
    public float[] FeaturesOf(int[] rows)
    {
        var n = FeatureCount;
        var result = new float[rows.Length * n];
        for (var i = 0; i < rows.Length; i++) Array.Copy(X, rows[i] * n, result, i * n, n);
        return result;
    }

    /// <summary>The rows' labels or class indexes.</summary>
    public float[] LabelsOf(int[] rows) => rows.Select(r => Y[r]).ToArray();

    /// <summary>A seed for one purpose (split, batches), so each draws its own stream from the spec's seed.</summary>
    public static int DeriveSeed(long seed, int purpose)
    {
        // splitmix64's finaliser: stable across runs and .NET versions, unlike string or HashCode hashing.
        var z = unchecked((ulong)seed + (ulong)purpose * 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return unchecked((int)(z ^ (z >> 32)));
    }

    private static (int[] Train, int[] Validation) Split(int rows, double fraction, long seed)
    {
        if (fraction <= 0) return (Enumerable.Range(0, rows).ToArray(), []);
        var count = Math.Max(1, (int)Math.Round(rows * fraction, MidpointRounding.AwayFromZero));
        if (rows - count < 1)
        {
            throw new TrainingFailedException(
                $"spec.validation_split {fraction.ToString(CultureInfo.InvariantCulture)} of {rows} row(s) leaves no training rows; the dataset needs at least 2 rows for a split.");
        }
        var order = Enumerable.Range(0, rows).ToArray();
        new Random(DeriveSeed(seed, 1)).Shuffle(order);
        var validation = order[..count];
        Array.Sort(validation);
        var train = order[count..];
        Array.Sort(train);
        return (train, validation);
    }

    private static ClassMap MapClasses(double[] labels, TrainingSpec spec)
    {
        for (var r = 0; r < labels.Length; r++)
        {
            if (labels[r] != Math.Round(labels[r]))
            {
                throw new TrainingFailedException(string.Create(CultureInfo.InvariantCulture,
                    $"Data row {r + 1}, label '{spec.LabelColumn}' is {labels[r]}; a classification label must be a whole number (a class id)."));
            }
        }
        var values = labels.Distinct().Order().ToArray();
        var shown = string.Join(", ", values.Take(10).Select(v => v.ToString(CultureInfo.InvariantCulture))) + (values.Length > 10 ? ", …" : "");
        if (values.Length < 2)
        {
            throw new TrainingFailedException($"The label '{spec.LabelColumn}' has only one value ({shown}); a classifier needs at least 2 classes.");
        }
        if (spec.Task == TrainingTerms.BinaryClassification && values.Length != 2)
        {
            throw new TrainingFailedException(
                $"spec.task is binary_classification but the label '{spec.LabelColumn}' has {values.Length} values ({shown}); use multiclass_classification.");
        }
        if (values.Length > SpecLimits.MaxClasses)
        {
            throw new TrainingFailedException($"The label '{spec.LabelColumn}' has {values.Length} values; a classifier takes at most {SpecLimits.MaxClasses} classes.");
        }
        string[] names;
        if (spec.ClassNames.Count == 0)
        {
            names = values.Select(v => v.ToString(CultureInfo.InvariantCulture)).ToArray();
        }
        else if (spec.ClassNames.Count != values.Length)
        {
            throw new TrainingFailedException(
                $"spec.class_names has {spec.ClassNames.Count} name(s) but the label '{spec.LabelColumn}' has {values.Length} classes ({shown}); give one name per class, in ascending order of the label values.");
        }
        else
        {
            names = [.. spec.ClassNames];
        }
        return new ClassMap(values, names);
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
