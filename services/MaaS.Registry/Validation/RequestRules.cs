using System.Collections.Frozen;
using System.Text.RegularExpressions;
using MaaS.Registry.Storage;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;

namespace MaaS.Registry.Validation;

/// <summary>The rules for what callers send; each breach is InvalidArgument naming the field and the rule.</summary>
public static partial class RequestRules
{
    /// <summary>Pattern of model, alias and dataset names.</summary>
    public const string NamePattern = "^[a-z0-9][a-z0-9._-]{0,63}$";

    /// <summary>Longest description.</summary>
    public const int MaxDescriptionLength = 4096;

    /// <summary>Longest short text (task, actor, created_by, keys, job id).</summary>
    public const int MaxShortTextLength = 256;

    /// <summary>Longest hyper-parameter value or alias reason.</summary>
    public const int MaxLongTextLength = 4096;

    /// <summary>Most tensors in a signature, entries in a map.</summary>
    public const int MaxEntries = 1024;

    /// <summary>OIP datatype names (KServe V2 / Triton wire names), in the order the protocol lists them.</summary>
    public static readonly IReadOnlyList<string> DatatypeNames =
        ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES", "BF16"];

    private static readonly FrozenSet<string> Datatypes = DatatypeNames.ToFrozenSet(StringComparer.Ordinal);

    [GeneratedRegex(NamePattern, RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();

    /// <summary>A model, alias or dataset name.</summary>
    public static void Name(string field, string value)
    {
        if (!NameRegex().IsMatch(value))
        {
            throw MeshErrors.InvalidArgument(
                $"{field} must match {NamePattern} (1-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit); it is {Show(value)}.");
        }
    }

    /// <summary>A free text of bounded length.</summary>
    public static void MaxLength(string field, string value, int max)
    {
        if (value.Length > max)
        {
            throw MeshErrors.InvalidArgument($"{field} must be at most {max} characters; it has {value.Length}.");
        }
    }

    /// <summary>A sha256 digest as 64 lower-case hex characters.</summary>
    public static void Digest(string field, string value)
    {
        if (!Digests.IsSha256Hex(value))
        {
            throw MeshErrors.InvalidArgument($"{field} must be a sha256 digest of 64 lower-case hex characters; it is {Show(value)}.");
        }
    }

    /// <summary>A version number: at least <paramref name="min"/>.</summary>
    public static void Version(string field, long value, long min)
    {
        if (value < min)
        {
            throw MeshErrors.InvalidArgument($"{field} must be at least {min}; it is {value}.");
        }
    }

    /// <summary>The manifest of RegisterVersion.</summary>
    public static void Manifest(VersionManifest manifest)
    {
        Name("manifest.model_name", manifest.ModelName);
        Digest("manifest.artifact_digest", manifest.ArtifactDigest);
        Tensors("manifest.inputs", manifest.Inputs);
        Tensors("manifest.outputs", manifest.Outputs);
        Count("manifest.metrics", manifest.Metrics.Count);
        foreach (var (key, value) in manifest.Metrics)
        {
            Key("manifest.metrics", key);
            if (!double.IsFinite(value))
            {
                throw MeshErrors.InvalidArgument($"manifest.metrics['{key}'] must be a finite number; it is {value}.");
            }
        }
        Count("manifest.hyperparameters", manifest.Hyperparameters.Count);
        foreach (var (key, value) in manifest.Hyperparameters)
        {
            Key("manifest.hyperparameters", key);
            MaxLength($"manifest.hyperparameters['{key}']", value, MaxLongTextLength);
        }
        MaxLength("manifest.created_by", manifest.CreatedBy, MaxShortTextLength);
        if (manifest.Lineage is { } lineage)
        {
            if (lineage.DatasetName.Length > 0) Name("manifest.lineage.dataset_name", lineage.DatasetName);
            Version("manifest.lineage.dataset_version", lineage.DatasetVersion, 0);
            if (lineage.DatasetDigest.Length > 0) Digest("manifest.lineage.dataset_digest", lineage.DatasetDigest);
            MaxLength("manifest.lineage.training_job_id", lineage.TrainingJobId, MaxShortTextLength);
            Version("manifest.lineage.parent_version", lineage.ParentVersion, 0);
        }
    }

    /// <summary>A signature: named tensors with OIP datatypes and dimensions of -1 (dynamic) or more.</summary>
    public static void Tensors(string field, IReadOnlyList<TensorSpec> tensors)
    {
        Count(field, tensors.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            var at = $"{field}[{i}]";
            if (string.IsNullOrWhiteSpace(tensor.Name))
            {
                throw MeshErrors.InvalidArgument($"{at}.name must not be empty.");
            }
            MaxLength($"{at}.name", tensor.Name, MaxShortTextLength);
            if (!names.Add(tensor.Name))
            {
                throw MeshErrors.InvalidArgument($"{at}.name '{tensor.Name}' is used twice in {field}; tensor names must be unique.");
            }
            if (!Datatypes.Contains(tensor.Datatype))
            {
                throw MeshErrors.InvalidArgument(
                    $"{at}.datatype must be one of {string.Join(", ", DatatypeNames)}; it is {Show(tensor.Datatype)}.");
            }
            for (var d = 0; d < tensor.Shape.Count; d++)
            {
                if (tensor.Shape[d] < -1)
                {
                    throw MeshErrors.InvalidArgument($"{at}.shape[{d}] must be -1 (dynamic) or at least 0; it is {tensor.Shape[d]}.");
                }
            }
        }
    }

    private static void Count(string field, int count)
    {
        if (count > MaxEntries)
        {
            throw MeshErrors.InvalidArgument($"{field} may hold at most {MaxEntries} entries; it has {count}.");
        }
    }

    private static void Key(string field, string key)
    {
        if (string.IsNullOrWhiteSpace(key))
        {
            throw MeshErrors.InvalidArgument($"{field} must not have an empty key.");
        }
        MaxLength($"{field} key", key, MaxShortTextLength);
    }

    /// <summary>A value quoted for an error sentence, cut short so a huge input does not flood the reply.</summary>
    private static string Show(string value) => value.Length <= 80 ? $"'{value}'" : $"'{value[..80]}…' ({value.Length} characters)";
}
