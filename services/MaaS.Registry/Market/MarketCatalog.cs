using System.Security.Cryptography;
using Google.Protobuf;
using MaaS.Registry.Storage;
using MaaS.Registry.V1;

namespace MaaS.Registry.Market;

/// <summary>One page of a search.</summary>
/// <param name="Entries">The entries of this page, by name.</param>
/// <param name="NextAfter">Name of the last entry when more follow; null on the last page.</param>
/// <param name="Total">Matches over all pages.</param>
public sealed record MarketSearchPage(IReadOnlyList<MarketCatalogEntry> Entries, string? NextAfter, int Total);

/// <summary>
/// The market's entries, loaded and checked once at start and held in memory: the catalog ships with
/// the registry and is small, so searching a sorted list is both simplest and fast.
/// </summary>
public sealed class MarketCatalog
{
    /// <summary>Folder of ready models: models/&lt;name&gt;/{card.json, model.onnx, data.csv}.</summary>
    public const string ModelsFolder = "models";

    /// <summary>Folder of training templates: templates/&lt;name&gt;.json.</summary>
    public const string TemplatesFolder = "templates";

    private const string CardFile = "card.json";
    private const string ArtifactFile = "model.onnx";
    private const string DataFile = "data.csv";

    private readonly List<MarketCatalogEntry> _entries;
    private readonly Dictionary<string, MarketCatalogEntry> _byName;

    private MarketCatalog(string directory, List<MarketCatalogEntry> entries)
    {
        Directory = directory;
        _entries = entries;
        _byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    /// <summary>The folder it was loaded from.</summary>
    public string Directory { get; }

    /// <summary>All entries, by name.</summary>
    public IReadOnlyList<MarketCatalogEntry> Entries => _entries;

    /// <summary>An empty catalog (no folder shipped).</summary>
    public static MarketCatalog Empty(string directory) => new(directory, []);

    /// <summary>
    /// Loads every card and template under <paramref name="directory"/>, checking each field and computing the
    /// artifact digests; the first broken file stops the load with a message naming it and the field.
    /// </summary>
    /// <exception cref="MarketCatalogException">A file breaks a rule.</exception>
    public static MarketCatalog Load(string directory)
    {
        var entries = new List<MarketCatalogEntry>();
        var models = Path.Combine(directory, ModelsFolder);
        if (System.IO.Directory.Exists(models))
        {
            foreach (var folder in System.IO.Directory.GetDirectories(models).Order(StringComparer.Ordinal))
            {
                entries.Add(LoadModel(folder));
            }
        }
        var templates = Path.Combine(directory, TemplatesFolder);
        if (System.IO.Directory.Exists(templates))
        {
            foreach (var file in System.IO.Directory.GetFiles(templates, "*.json").Order(StringComparer.Ordinal))
            {
                entries.Add(LoadTemplate(file));
            }
        }
        var taken = new Dictionary<string, MarketCatalogEntry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (taken.TryGetValue(entry.Name, out var other))
            {
                throw new MarketCatalogException(
                    $"Market catalog: the name '{entry.Name}' is used by a {KindText(other.Kind)} and a {KindText(entry.Kind)}; names must be unique across the market.");
            }
            taken[entry.Name] = entry;
        }
        entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new MarketCatalog(directory, entries);
    }

    /// <summary>The entry of that name, or null.</summary>
    public MarketCatalogEntry? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// Entries whose text holds every word of <paramref name="text"/> (ignoring case), of the task, tag and kind asked
    /// (empty / unspecified = any), ordered by name, the page starting after the entry named <paramref name="after"/>.
    /// </summary>
    public MarketSearchPage Search(string text, string task, string tag, MarketEntryKind kind, int pageSize, string? after)
    {
        var terms = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(t => t.ToLowerInvariant()).ToArray();
        var matches = _entries.Where(e =>
                (kind == MarketEntryKind.Unspecified || e.Kind == kind)
                && (task.Length == 0 || string.Equals(e.Card.Task, task, StringComparison.OrdinalIgnoreCase))
                && (tag.Length == 0 || e.HasTag(tag))
                && e.MatchesAll(terms))
            .ToList();
        var rest = after is null ? matches : matches.Where(e => string.CompareOrdinal(e.Name, after) > 0).ToList();
        var page = rest.Take(pageSize).ToList();
        var next = rest.Count > page.Count ? page[^1].Name : null;
        return new MarketSearchPage(page, next, matches.Count);
    }

    private static MarketCatalogEntry LoadModel(string folder)
    {
        var cardPath = Path.Combine(folder, CardFile);
        if (!File.Exists(cardPath))
        {
            throw new MarketCatalogException($"Market catalog folder '{folder}' has no {CardFile}; every ready model needs its card.");
        }
        var card = MarketCardReader.Open(cardPath);
        var entry = new MarketEntry
        {
            Name = card.Name(Path.GetFileName(folder)),
            Kind = MarketEntryKind.Model,
            Title = card.String("title"),
            Task = card.String("task"),
            IntendedUse = card.LongText("intended_use"),
            Limits = card.LongText("limits"),
            Licence = card.String("licence"),
            TrainingData = card.LongText("training_data"),
            CardJson = card.Text,
        };
        card.Kind("model");
        entry.Tags.AddRange(card.Tags());
        entry.Inputs.AddRange(card.Tensors("inputs"));
        entry.Outputs.AddRange(card.Tensors("outputs"));
        entry.Metrics.Add(card.Numbers("metrics"));
        entry.Hyperparameters.Add(card.Texts("hyperparameters"));

        var artifactPath = Path.Combine(folder, ArtifactFile);
        if (!File.Exists(artifactPath))
        {
            throw MarketCatalogException.Field(cardPath, "name", $"names a model whose folder has no {ArtifactFile}.");
        }
        var artifact = File.ReadAllBytes(artifactPath);
        CheckSignature(card, artifactPath, artifact, entry);
        entry.ArtifactDigest = Digests.ToHex(SHA256.HashData(artifact));
        entry.ArtifactSize = artifact.LongLength;
        CheckDeclaredArtifact(card, entry);

        var dataPath = Path.Combine(folder, DataFile);
        var dataDigest = "";
        if (File.Exists(dataPath))
        {
            using var data = File.OpenRead(dataPath);
            dataDigest = Digests.ToHex(SHA256.HashData(data));
        }
        return new MarketCatalogEntry(entry, artifactPath, File.Exists(dataPath) ? dataPath : null, dataDigest);
    }

    private static MarketCatalogEntry LoadTemplate(string file)
    {
        var template = MarketCardReader.Open(file);
        var entry = new MarketEntry
        {
            Name = template.Name(Path.GetFileNameWithoutExtension(file)),
            Kind = MarketEntryKind.Template,
            Title = template.String("title"),
            Task = template.String("task"),
            Description = template.LongText("description"),
            CardJson = template.Text,
        };
        template.Kind("template");
        entry.Tags.AddRange(template.Tags());
        var spec = template.Object("spec");
        var fields = template.Texts("spec");
        foreach (var required in (string[])["architecture", "loss", "optimizer"])
        {
            if (!spec.TryGetProperty(required, out var value) || value.ValueKind != System.Text.Json.JsonValueKind.String
                || string.IsNullOrWhiteSpace(value.GetString()))
            {
                throw template.Error($"spec.{required}", "must be a non-empty string.");
            }
        }
        foreach (var positive in (string[])["learning_rate", "epochs"])
        {
            if (!spec.TryGetProperty(positive, out var value) || value.ValueKind != System.Text.Json.JsonValueKind.Number
                || !value.TryGetDouble(out var number) || !(number > 0) || !double.IsFinite(number))
            {
                throw template.Error($"spec.{positive}", "must be a positive number.");
            }
        }
        entry.Spec.Add(fields);
        entry.SpecJson = System.Text.Json.JsonSerializer.Serialize(spec);
        return new MarketCatalogEntry(entry, null, null, "");
    }

    /// <summary>
    /// The card must describe the artifact it ships with: its inputs are exactly the graph's inputs and its
    /// outputs are outputs of the graph, so an installed version's signature is the truth.
    /// </summary>
    private static void CheckSignature(MarketCardReader card, string artifactPath, byte[] artifact, MarketEntry entry)
    {
        Onnx.ModelProto model;
        try
        {
            model = Onnx.ModelProto.Parser.ParseFrom(artifact);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new MarketCatalogException($"Market catalog file '{artifactPath}' is not an ONNX model: {ex.Message}");
        }
        if (model.Graph is null || model.Graph.Output.Count == 0)
        {
            throw new MarketCatalogException($"Market catalog file '{artifactPath}' is not an ONNX model: it has no graph with outputs.");
        }
        var initializers = model.Graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var graphInputs = model.Graph.Input.Select(i => i.Name).Where(n => !initializers.Contains(n)).Order(StringComparer.Ordinal).ToList();
        var cardInputs = entry.Inputs.Select(i => i.Name).Order(StringComparer.Ordinal).ToList();
        if (!graphInputs.SequenceEqual(cardInputs))
        {
            throw card.Error("inputs",
                $"must name the inputs of {ArtifactFile}, [{string.Join(", ", graphInputs)}]; it names [{string.Join(", ", cardInputs)}].");
        }
        var graphOutputs = model.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        if (entry.Outputs.FirstOrDefault(o => !graphOutputs.Contains(o.Name)) is { } unknown)
        {
            throw card.Error("outputs",
                $"names '{unknown.Name}', which is not an output of {ArtifactFile} [{string.Join(", ", graphOutputs.Order(StringComparer.Ordinal))}].");
        }
    }

    /// <summary>
    /// A card may declare its artifact's digest and size (the trainer writes them); when it does they must match
    /// the file, so a model.onnx swapped or damaged after its card was written is caught at start.
    /// </summary>
    private static void CheckDeclaredArtifact(MarketCardReader card, MarketEntry entry)
    {
        if (!card.Has("artifact")) return;
        var artifact = card.Object("artifact");
        if (artifact.TryGetProperty("sha256", out var digest)
            && (digest.ValueKind != System.Text.Json.JsonValueKind.String || digest.GetString() != entry.ArtifactDigest))
        {
            throw card.Error("artifact.sha256", $"is {digest.GetRawText()} but {ArtifactFile} hashes to \"{entry.ArtifactDigest}\".");
        }
        if (artifact.TryGetProperty("size", out var size)
            && (size.ValueKind != System.Text.Json.JsonValueKind.Number || !size.TryGetInt64(out var bytes) || bytes != entry.ArtifactSize))
        {
            throw card.Error("artifact.size", $"is {size.GetRawText()} but {ArtifactFile} has {entry.ArtifactSize} bytes.");
        }
    }

    private static string KindText(MarketEntryKind kind) => kind == MarketEntryKind.Model ? "ready model" : "template";
}
