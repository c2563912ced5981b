using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MaaS.Onnx;
using MaaS.Registry.V1;
using MaaS.Trainer;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.Training;
using MaaS.Trainer.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaaS.MarketModels;

/// <summary>One ready model as written: where, and its validation metrics.</summary>
public sealed record GeneratedModel(string Name, string Directory, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// Writes the market catalog: for each ready model models/&lt;name&gt;/ with model.onnx, card.json and
/// data.csv, trained by the trainer core with its verified export; and templates/&lt;name&gt;.json for each
/// training template. The same code and seeds write the same bytes.
/// </summary>
public static class MarketCatalog
{
    /// <summary>Where the registry's market reads the catalog from, relative to the repository root.</summary>
    public const string DefaultOutput = "services/MaaS.Registry/Market/catalog";

    private static readonly JsonWriterOptions Json = new() { Indented = true, NewLine = "\n" };

    /// <summary>Trains and writes every ready model, then every template, under <paramref name="root"/>.</summary>
    /// <exception cref="InvalidOperationException">An entry's spec is refused by the validator (a bug in the entries).</exception>
    public static IReadOnlyList<GeneratedModel> Generate(string root)
    {
        var sessions = new OnnxSessionFactory(Options.Create(new OnnxRuntimeOptions { PreferCuda = false }), NullLogger<OnnxSessionFactory>.Instance);
        var trainer = new ModelTrainer(new ExportVerifier(sessions));
        var written = new List<GeneratedModel>();
        foreach (var model in MarketEntries.Models)
        {
            var spec = Validated(model.Spec, model.Name);
            var table = model.Data();
            var trained = trainer.Train(table, spec);
            var directory = Path.Combine(root, "models", model.Name);
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(Path.Combine(directory, "model.onnx"), trained.Onnx);
            File.WriteAllText(Path.Combine(directory, "data.csv"), table.ToCsv(), Utf8);
            File.WriteAllBytes(Path.Combine(directory, "card.json"), Card(model, spec, trained));
            written.Add(new GeneratedModel(model.Name, directory, CardMetrics(trained)));
        }
        var templates = Path.Combine(root, "templates");
        Directory.CreateDirectory(templates);
        foreach (var template in MarketEntries.Templates)
        {
            Validated(template.Spec, template.Name);
            File.WriteAllBytes(Path.Combine(templates, template.Name + ".json"), TemplateJson(template));
        }
        return written;
    }

    /// <summary>The spec with the entry's name as model and dataset, checked and completed by the trainer's own validator.</summary>
    public static TrainingSpec Validated(TrainingSpec entrySpec, string name)
    {
        var spec = entrySpec.Clone();
        if (spec.ModelName.Length == 0) spec.ModelName = name;
        if (spec.DatasetName.Length == 0) spec.DatasetName = name + "-data";
        if (spec.LabelColumn.Length == 0) spec.LabelColumn = "label";
        var (normalized, violations) = new SpecValidator(Options.Create(new TrainerOptions())).Validate(spec);
        if (violations.Count > 0) throw new InvalidOperationException($"Market entry '{name}': {string.Join(" ", violations)}");
        return normalized;
    }

    // Validation metrics, the export check and the epochs: what a card reader compares models by.
    private static SortedDictionary<string, double> CardMetrics(TrainedModel trained) => new(
        trained.Metrics.Where(m => m.Key.StartsWith("val_", StringComparison.Ordinal) || m.Key is "export_max_abs_diff" or "epochs_run")
            .ToDictionary(m => m.Key, m => Significant(m.Value)), StringComparer.Ordinal);

    private static byte[] Card(ReadyModel model, TrainingSpec spec, TrainedModel trained)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Json))
        {
            w.WriteStartObject();
            w.WriteString("name", model.Name);
            w.WriteString("kind", "model");
            w.WriteString("title", model.Title);
            w.WriteString("task", spec.Task);
            Strings(w, "tags", model.Tags);
            Signature(w, "inputs", VersionDescription.Inputs(trained));
            Signature(w, "outputs", VersionDescription.Outputs(trained));
            w.WriteString("intended_use", model.IntendedUse);
            w.WriteString("limits", model.Limits);
            w.WriteString("licence", "MIT");
            w.WriteStartObject("metrics");
            foreach (var (key, value) in CardMetrics(trained)) w.WriteNumber(key, value);
            w.WriteEndObject();
            w.WriteString("training_data", model.TrainingData);
            w.WriteStartObject("hyperparameters");
            foreach (var (key, value) in VersionDescription.Hyperparameters(spec, trained)) w.WriteString(key, value);
            w.WriteEndObject();
            w.WriteStartObject("artifact");
            w.WriteString("file", "model.onnx");
            w.WriteString("sha256", Convert.ToHexStringLower(SHA256.HashData(trained.Onnx)));
            w.WriteNumber("size", trained.Onnx.Length);
            w.WriteString("data_file", "data.csv");
            w.WriteString("producer", "maas-trainer");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static byte[] TemplateJson(TrainingTemplate template)
    {
        var s = template.Spec;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Json))
        {
            w.WriteStartObject();
            w.WriteString("name", template.Name);
            w.WriteString("kind", "template");
            w.WriteString("title", template.Title);
            w.WriteString("task", s.Task);
            Strings(w, "tags", template.Tags);
            w.WriteString("description", template.Description);
            // Field names are TrainingSpec's (maas.trainer.v1) proto names, so the spec parses as one.
            w.WriteStartObject("spec");
            w.WriteString("task", s.Task);
            w.WriteString("architecture", s.Architecture);
            w.WriteString("loss", s.Loss);
            w.WriteString("optimizer", s.Optimizer);
            w.WriteNumber("learning_rate", s.LearningRate);
            w.WriteNumber("epochs", s.Epochs);
            w.WriteNumber("batch_size", s.BatchSize);
            if (s.HiddenSizes.Count > 0)
            {
                w.WriteStartArray("hidden_sizes");
                foreach (var h in s.HiddenSizes) w.WriteNumberValue(h);
                w.WriteEndArray();
                w.WriteString("activation", s.Activation);
            }
            if (s.Momentum != 0) w.WriteNumber("momentum", s.Momentum);
            w.WriteNumber("weight_decay", s.WeightDecay);
            w.WriteNumber("validation_split", s.ValidationSplit);
            w.WriteBoolean("standardize", s.Standardize);
            if (s.LrSchedule.Length > 0) w.WriteString("lr_schedule", s.LrSchedule);
            if (s.EarlyStoppingPatience > 0) w.WriteNumber("early_stopping_patience", s.EarlyStoppingPatience);
            w.WriteNumber("seed", s.Seed);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void Signature(Utf8JsonWriter w, string name, IEnumerable<TensorSpec> tensors)
    {
        w.WriteStartArray(name);
        foreach (var t in tensors)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("datatype", t.Datatype);
            w.WriteStartArray("shape");
            foreach (var d in t.Shape) w.WriteNumberValue(d);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    // Six significant digits: what a card needs, and free of the last-bit noise a re-derivation could show.
    private static double Significant(double value) => double.Parse(value.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);
}
