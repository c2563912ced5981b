using System.Text.Json;
using Grpc.Core;
using MaaS.Registry.V1;
using MaaS.Registry.Validation;

namespace MaaS.Registry.Market;

/// <summary>
/// Reads the fields of one card or template file, checking each: a missing or malformed field is a
/// <see cref="MarketCatalogException"/> naming the file and the field, so a bad catalog never half-loads.
/// </summary>
internal sealed class MarketCardReader
{
    private const int MaxShortText = RequestRules.MaxShortTextLength;
    private const int MaxLongText = RequestRules.MaxLongTextLength;

    private readonly JsonElement _root;

    private MarketCardReader(string file, JsonElement root)
    {
        File = file;
        _root = root;
    }

    /// <summary>Path of the file, for messages.</summary>
    public string File { get; }

    /// <summary>The file as shipped.</summary>
    public string Text { get; private init; } = "";

    /// <summary>Parses <paramref name="file"/>; its root must be a JSON object.</summary>
    public static MarketCardReader Open(string file)
    {
        var text = System.IO.File.ReadAllText(file);
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(text);
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new MarketCatalogException($"Market catalog file '{file}' is not valid JSON: {ex.Message}");
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new MarketCatalogException($"Market catalog file '{file}' must hold a JSON object; it holds {Describe(root.ValueKind)}.");
        }
        return new MarketCardReader(file, root) { Text = text };
    }

    /// <summary>A rule broken by a field.</summary>
    public MarketCatalogException Error(string field, string rule) => MarketCatalogException.Field(File, field, rule);

    /// <summary>A non-empty string of at most <paramref name="max"/> characters.</summary>
    public string String(string field, int max = MaxShortText)
    {
        var value = Get(field);
        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { } text || string.IsNullOrWhiteSpace(text))
        {
            throw Error(field, $"must be a non-empty string; it is {Describe(value.ValueKind)}.");
        }
        if (text.Length > max)
        {
            throw Error(field, $"must be at most {max} characters; it has {text.Length}.");
        }
        return text;
    }

    /// <summary>A long free text (intended use, limits, descriptions), at most 4096 characters.</summary>
    public string LongText(string field) => String(field, MaxLongText);

    /// <summary>The entry name: the registry's name rule, and equal to the name its location gives it.</summary>
    public string Name(string expected)
    {
        var name = String("name");
        Rule("name", () => RequestRules.Name("name", name));
        if (name != expected)
        {
            throw Error("name", $"must equal '{expected}', the name of its file or folder; it is '{name}'.");
        }
        return name;
    }

    /// <summary>The kind, which must be <paramref name="expected"/> for the folder the file is in.</summary>
    public void Kind(string expected)
    {
        var kind = String("kind");
        if (kind != expected)
        {
            throw Error("kind", $"must be '{expected}' for a file in this folder; it is '{kind}'.");
        }
    }

    /// <summary>Tags (may be empty), under the registry's tag rules, since an install gives them to the model.</summary>
    public IReadOnlyList<string> Tags()
    {
        var value = Get("tags");
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Error("tags", $"must be an array of strings; it is {Describe(value.ValueKind)}.");
        }
        var tags = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw Error($"tags[{tags.Count}]", $"must be a string; it is {Describe(item.ValueKind)}.");
            }
            tags.Add(item.GetString()!);
        }
        Rule("tags", () => RequestRules.Tags("tags", tags));
        return tags;
    }

    /// <summary>A non-empty signature: [{name, datatype, shape}], checked with the registry's own rules.</summary>
    public IReadOnlyList<TensorSpec> Tensors(string field)
    {
        var value = Get(field);
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
        {
            throw Error(field, "must be a non-empty array of {name, datatype, shape} objects.");
        }
        var tensors = new List<TensorSpec>();
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            var at = $"{field}[{index++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw Error(at, $"must be a {{name, datatype, shape}} object; it is {Describe(item.ValueKind)}.");
            }
            var spec = new TensorSpec
            {
                Name = item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "",
                Datatype = item.TryGetProperty("datatype", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "",
            };
            if (!item.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array)
            {
                throw Error($"{at}.shape", "must be an array of integers (-1 = dynamic).");
            }
            foreach (var dim in shape.EnumerateArray())
            {
                if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var size))
                {
                    throw Error($"{at}.shape", "must be an array of integers (-1 = dynamic).");
                }
                spec.Shape.Add(size);
            }
            tensors.Add(spec);
        }
        Rule(field, () => RequestRules.Tensors(field, tensors));
        return tensors;
    }

    /// <summary>An object of finite numbers.</summary>
    public SortedDictionary<string, double> Numbers(string field)
    {
        var result = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var property in Object(field).EnumerateObject())
        {
            var at = $"{field}.{property.Name}";
            if (string.IsNullOrWhiteSpace(property.Name)) throw Error(field, "must not have an empty key.");
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetDouble(out var number) || !double.IsFinite(number))
            {
                throw Error(at, $"must be a finite number; it is {Describe(property.Value.ValueKind)}.");
            }
            result[property.Name] = number;
        }
        return result;
    }

    /// <summary>
    /// An object flattened to text values: strings as they are, numbers and booleans as written,
    /// arrays and objects as compact JSON (the registry keeps hyper-parameters as strings).
    /// </summary>
    public SortedDictionary<string, string> Texts(string field)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in Object(field).EnumerateObject())
        {
            if (string.IsNullOrWhiteSpace(property.Name)) throw Error(field, "must not have an empty key.");
            if (property.Value.ValueKind == JsonValueKind.Null) throw Error($"{field}.{property.Name}", "must not be null.");
            var text = property.Value.ValueKind == JsonValueKind.String
                ? property.Value.GetString()!
                : JsonSerializer.Serialize(property.Value);
            if (text.Length > RequestRules.MaxLongTextLength)
            {
                throw Error($"{field}.{property.Name}", $"must be at most {RequestRules.MaxLongTextLength} characters as text.");
            }
            result[property.Name] = text;
        }
        return result;
    }

    /// <summary>A JSON object field.</summary>
    public JsonElement Object(string field)
    {
        var value = Get(field);
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Error(field, $"must be a JSON object; it is {Describe(value.ValueKind)}.");
        }
        return value;
    }

    /// <summary>Whether an optional field is present.</summary>
    public bool Has(string field) => _root.TryGetProperty(field, out _);

    /// <summary>A required field.</summary>
    public JsonElement Get(string field) => _root.TryGetProperty(field, out var value)
        ? value
        : throw Error(field, "is missing.");

    /// <summary>Runs one of the registry's request rules and turns its sentence into a catalog error.</summary>
    private void Rule(string field, Action check)
    {
        try
        {
            check();
        }
        catch (RpcException ex)
        {
            throw new MarketCatalogException($"Market catalog file '{File}': field '{field}': {ex.Status.Detail}");
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Undefined => "missing",
        JsonValueKind.Null => "null",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "a " + kind.ToString().ToLowerInvariant(),
    };
}
