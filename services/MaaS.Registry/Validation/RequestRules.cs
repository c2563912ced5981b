using System.Collections.Frozen;
using System.Text;
using System.Text.RegularExpressions;
using MaaS.Registry.Storage;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;

namespace MaaS.Registry.Validation;

/// <summary>The rules for what callers send; each breach is InvalidArgument naming the field and the rule.</summary>
public static partial class RequestRules
{
    /// <summary>Pattern of model, alias, dataset names and tags (1-63 characters; '..' is refused separately).</summary>
    public const string NamePattern = MeshNames.Pattern;

    /// <summary>Longest name.</summary>
    public const int MaxNameLength = MeshNames.MaxLength;

    /// <summary>Longest description, in UTF-8 bytes (4 KiB).</summary>
    public const int MaxDescriptionBytes = 4 * 1024;

    /// <summary>Longest model card, in UTF-8 bytes (64 KiB).</summary>
    public const int MaxModelCardBytes = 64 * 1024;

    /// <summary>Most tags of a model.</summary>
    public const int MaxTags = 32;

    /// <summary>Largest page; also the size of a page when none is asked for.</summary>
    public const int MaxPageSize = 500;

    /// <summary>Most entries of a deployment.</summary>
    public const int MaxDeploymentEntries = 16;

    /// <summary>Pattern of inference pool names (the inference service's own rule for Inference:Pool).</summary>
    public const string PoolPattern = "^[A-Za-z0-9._-]{1,64}$";

    /// <summary>Longest short text (task, owner, actor, created_by, search text, keys, job id).</summary>
    public const int MaxShortTextLength = 256;

    /// <summary>Longest hyper-parameter value or alias reason.</summary>
    public const int MaxLongTextLength = 4096;

    /// <summary>Most tensors in a signature, entries in a map.</summary>
    public const int MaxEntries = 1024;

    /// <summary>OIP datatype names (KServe V2 / Triton wire names), in the order the protocol lists them.</summary>
    public static readonly IReadOnlyList<string> DatatypeNames =
        ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES", "BF16"];

    private static readonly FrozenSet<string> Datatypes = DatatypeNames.ToFrozenSet(StringComparer.Ordinal);

    [GeneratedRegex(PoolPattern, RegexOptions.CultureInvariant)]
    private static partial Regex PoolRegex();

    /// <summary>Whether <paramref name="value"/> is a valid name.</summary>
    public static bool IsName(string value) => MeshNames.IsValid(value);

    /// <summary>A model, alias or dataset name, or a tag: the names end up in paths, so no separators and no '..'.</summary>
    public static void Name(string field, string value)
    {
        if (!IsName(value))
        {
            throw MeshErrors.InvalidArgument(
                $"{field} must match {NamePattern} without '..' (1-63 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit; no '/' or '\\'); it is {Show(value)}.");
        }
    }

    /// <summary>A name filter or prefix: empty, or the start of a valid name.</summary>
    public static void NamePrefix(string field, string value)
    {
        if (value.Length > 0 && !IsName(value))
        {
            throw MeshErrors.InvalidArgument(
                $"{field} must be empty or the start of a name: at most 63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, no '..'; it is {Show(value)}.");
        }
    }

    /// <summary>An optional name: empty, or a valid name.</summary>
    public static void OptionalName(string field, string value)
    {
        if (value.Length > 0) Name(field, value);
    }

    /// <summary>Tags: at most 32, each a valid name, no repeats.</summary>
    public static void Tags(string field, IReadOnlyList<string> tags)
    {
        if (tags.Count > MaxTags)
        {
            throw MeshErrors.InvalidArgument($"{field} may hold at most {MaxTags} tags; it has {tags.Count}.");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tags.Count; i++)
        {
            Name($"{field}[{i}]", tags[i]);
            if (!seen.Add(tags[i]))
            {
                throw MeshErrors.InvalidArgument($"{field}[{i}] '{tags[i]}' is listed twice; tags must be unique.");
            }
        }
    }

    /// <summary>A text of at most <paramref name="maxBytes"/> bytes of UTF-8.</summary>
    public static void MaxUtf8Bytes(string field, string value, int maxBytes)
    {
        // Characters are at most 3 bytes in UTF-16 → UTF-8 (surrogate pairs: 4 bytes for 2 chars), so short texts skip the count.
        if (value.Length * 3 <= maxBytes) return;
        var bytes = Encoding.UTF8.GetByteCount(value);
        if (bytes > maxBytes)
        {
            throw MeshErrors.InvalidArgument($"{field} must be at most {maxBytes} bytes of UTF-8 ({maxBytes / 1024} KiB); it has {bytes}.");
        }
    }

    /// <summary>A page size: 0 (= <see cref="MaxPageSize"/>) to <see cref="MaxPageSize"/>; returns the size to use.</summary>
    public static int PageSize(string field, int value)
    {
        if (value is < 0 or > MaxPageSize)
        {
            throw MeshErrors.InvalidArgument($"{field} must be between 0 and {MaxPageSize} (0 = {MaxPageSize}); it is {value}.");
        }
        return value == 0 ? MaxPageSize : value;
    }

    /// <summary>A whole number within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static void Range(string field, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            throw MeshErrors.InvalidArgument($"{field} must be between {min} and {max}; it is {value}.");
        }
    }

    /// <summary>
    /// The desired state of SetDeployment: at most 16 entries, versions ≥ 1, valid (and, when configured,
    /// known) pools, weights 0-100 summing to 100, no version twice on one pool; a shadow needs an entry
    /// and has a version ≥ 1 and a percent 0-100. Empty entries without a shadow mean "undeploy".
    /// </summary>
    public static void Deployment(IReadOnlyList<DeploymentEntry> entries, ShadowTarget? shadow, IReadOnlyCollection<string> knownPools)
    {
        if (entries.Count > MaxDeploymentEntries)
        {
            throw MeshErrors.InvalidArgument($"entries may hold at most {MaxDeploymentEntries} entries; it has {entries.Count}.");
        }
        var targets = new HashSet<(long, string)>();
        long sum = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            Version($"entries[{i}].version", entry.Version, 1);
            Pool($"entries[{i}].pool", entry.Pool, knownPools);
            Range($"entries[{i}].weight", entry.Weight, 0, 100);
            if (!targets.Add((entry.Version, entry.Pool)))
            {
                throw MeshErrors.InvalidArgument(
                    $"entries[{i}] repeats version {entry.Version} on pool '{entry.Pool}'; each version appears at most once per pool.");
            }
            sum += entry.Weight;
        }
        if (entries.Count > 0 && sum != 100)
        {
            throw MeshErrors.InvalidArgument($"entries[].weight must sum to 100; they sum to {sum}.");
        }
        if (shadow is not null)
        {
            if (entries.Count == 0)
            {
                throw MeshErrors.InvalidArgument("shadow needs at least one entry: a shadow mirrors traffic that the entries serve.");
            }
            Version("shadow.version", shadow.Version, 1);
            Range("shadow.percent", shadow.Percent, 0, 100);
        }
    }

    /// <summary>An inference pool name; when pools are configured (Registry:Pools), one of them.</summary>
    public static void Pool(string field, string value, IReadOnlyCollection<string> knownPools)
    {
        if (!PoolRegex().IsMatch(value))
        {
            throw MeshErrors.InvalidArgument(
                $"{field} must match {PoolPattern} (1-64 letters, digits, '.', '_' or '-', like Inference:Pool); it is {Show(value)}.");
        }
        if (knownPools.Count > 0 && !knownPools.Contains(value))
        {
            throw MeshErrors.InvalidArgument(
                $"{field} must be one of the configured pools ({string.Join(", ", knownPools)}); it is {Show(value)}.");
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
        MaxUtf8Bytes("manifest.model_card", manifest.ModelCard, MaxModelCardBytes);
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
