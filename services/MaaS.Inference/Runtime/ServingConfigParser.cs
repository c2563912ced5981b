using System.Globalization;
using System.Text.Json;
using MaaS.ServiceDefaults;

namespace MaaS.Inference.Runtime;

/// <summary>
/// Reads how models are served: per model from configuration (<c>Inference:Models:&lt;name&gt;:…</c>) and
/// from the Triton model-config JSON a RepositoryModelLoad carries in its <c>config</c> parameter.
/// Every bad value is reported with the key or field that holds it.
/// </summary>
public static class ServingConfigParser
{
    /// <summary>Largest max_batch_size taken.</summary>
    public const int MaxBatchSizeLimit = 65536;

    /// <summary>Longest queue delay taken, in microseconds (10 s).</summary>
    public const long MaxQueueDelayLimitMicroseconds = 10_000_000;

    /// <summary>Largest queue bound taken.</summary>
    public const int MaxQueueSizeLimit = 1_000_000;

    /// <summary>Most versions a latest:N policy may hold.</summary>
    public const int MaxLatestVersions = 64;

    private static readonly string[] ModelKeys = ["VersionPolicy", "MaxBatchSize", "PreferredBatchSizes", "MaxQueueDelayMicroseconds", "MaxQueueSize", "Instances"];

    /// <summary>Most batches of one version that may run at once.</summary>
    public const int MaxInstances = 64;

    // Fields of a full Triton model config that say nothing this server acts on; accepted so that a
    // client's existing config.pbtxt-as-JSON loads, while a misspelt field is still refused.
    private static readonly HashSet<string> IgnoredTritonFields = new(StringComparer.Ordinal)
    {
        "name", "platform", "backend", "runtime", "input", "output", "instance_group", "optimization",
        "parameters", "model_warmup", "default_model_filename", "version_policy", "max_batch_size", "dynamic_batching",
    };

    /// <summary>
    /// The settings under <c>Inference:Models</c>, one entry per model; problems go to <paramref name="errors"/>
    /// as sentences naming the key.
    /// </summary>
    public static Dictionary<string, ModelServingConfig> FromConfiguration(IConfigurationSection models, int maxVersions, List<string> errors)
    {
        var result = new Dictionary<string, ModelServingConfig>(StringComparer.Ordinal);
        foreach (var model in models.GetChildren())
        {
            var prefix = model.Path;
            foreach (var child in model.GetChildren())
            {
                if (!ModelKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
                {
                    errors.Add($"{child.Path} is not a model setting; the settings are {string.Join(", ", ModelKeys)}.");
                }
            }
            var count = errors.Count;
            var policy = VersionPolicy.LatestN(maxVersions);
            if (model["VersionPolicy"] is { Length: > 0 } policyText)
            {
                policy = ParsePolicy(policyText, $"{prefix}:VersionPolicy", errors) ?? policy;
            }
            var maxBatch = Int(model, "MaxBatchSize", 0, MaxBatchSizeLimit, 0, errors);
            var delay = Int(model, "MaxQueueDelayMicroseconds", 0, MaxQueueDelayLimitMicroseconds, 0, errors);
            var queue = Int(model, "MaxQueueSize", 1, MaxQueueSizeLimit, BatchingSettings.DefaultMaxQueueSize, errors);
            var instances = Int(model, "Instances", 1, MaxInstances, BatchingSettings.Off.Instances, errors);
            var preferred = PreferredFromConfiguration(model.GetSection("PreferredBatchSizes"), errors);
            if (errors.Count > count)
            {
                continue;
            }
            if (CheckPreferred(preferred, (int)maxBatch) is { } problem)
            {
                errors.Add($"{prefix}:PreferredBatchSizes {problem}");
                continue;
            }
            var batching = maxBatch > 1
                ? new BatchingSettings((int)maxBatch, preferred, TimeSpan.FromMicroseconds(delay), (int)queue) { Instances = (int)instances }
                : BatchingSettings.Off;
            result[model.Key] = new ModelServingConfig(policy, batching);
        }
        return result;
    }

    /// <summary><c>latest:N</c>, <c>specific:1,3</c> or <c>all</c>; null (and a sentence naming <paramref name="key"/>) when it is none of them.</summary>
    public static VersionPolicy? ParsePolicy(string text, string key, List<string> errors)
    {
        var rule = $"{key} must be latest:N (N from 1 to {MaxLatestVersions}), specific:V1,V2,… (positive version numbers) or all; it is '{text}'.";
        var trimmed = text.Trim();
        if (trimmed.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return VersionPolicy.Every;
        }
        var colon = trimmed.IndexOf(':');
        if (colon < 0)
        {
            errors.Add(rule);
            return null;
        }
        var kind = trimmed[..colon].Trim();
        var rest = trimmed[(colon + 1)..];
        if (kind.Equals("latest", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(rest.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxLatestVersions)
        {
            return VersionPolicy.LatestN(n);
        }
        if (kind.Equals("specific", StringComparison.OrdinalIgnoreCase))
        {
            var versions = new List<long>();
            foreach (var part in rest.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < 1)
                {
                    errors.Add(rule);
                    return null;
                }
                versions.Add(v);
            }
            return VersionPolicy.Only(versions.Distinct().Order().ToList());
        }
        errors.Add(rule);
        return null;
    }

    /// <summary>
    /// Applies the Triton model-config JSON of a RepositoryModelLoad to <paramref name="current"/>: the fields
    /// given replace the current ones (version_policy, max_batch_size with dynamic_batching); the rest stays.
    /// </summary>
    /// <exception cref="Grpc.Core.RpcException">InvalidArgument naming the field and the rule.</exception>
    public static ModelServingConfig FromTritonJson(string json, string model, ModelServingConfig current)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw MeshErrors.InvalidArgument($"Parameter 'config' is not valid JSON: {ex.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("config", "must be a JSON object (Triton's model configuration)");
            }
            foreach (var property in root.EnumerateObject())
            {
                if (!IgnoredTritonFields.Contains(property.Name))
                {
                    throw Invalid($"config.{property.Name}", "is not a model configuration field this server knows (it takes version_policy, max_batch_size and dynamic_batching)");
                }
            }
            if (root.TryGetProperty("name", out var name) && (name.ValueKind != JsonValueKind.String || name.GetString() != model))
            {
                throw Invalid("config.name", $"must be the model's name '{model}' when given");
            }

            var policy = root.TryGetProperty("version_policy", out var policyElement) ? PolicyFromJson(policyElement) : current.VersionPolicy;

            var batching = current.Batching;
            var hasMax = root.TryGetProperty("max_batch_size", out var maxElement);
            var hasDynamic = root.TryGetProperty("dynamic_batching", out var dynamic) && dynamic.ValueKind != JsonValueKind.Null;
            if (hasMax || hasDynamic)
            {
                var max = hasMax ? JsonInt(maxElement, "config.max_batch_size", 0, MaxBatchSizeLimit) : 0;
                if (!hasDynamic)
                {
                    // Triton's meaning: the model takes a batch dimension, but no dynamic batcher forms batches.
                    batching = BatchingSettings.Off;
                }
                else
                {
                    if (max < 1)
                    {
                        throw Invalid("config.max_batch_size", "must be at least 1 when dynamic_batching is given");
                    }
                    batching = BatchingFromJson(dynamic, (int)max);
                }
            }
            if (root.TryGetProperty("instance_group", out var groups) && batching.Enabled)
            {
                batching = batching with { Instances = InstancesFromJson(groups) };
            }
            return new ModelServingConfig(policy, batching);
        }
    }

    // Triton's instance_group: [{"count": 2, "kind": "KIND_CPU"}, …]; the counts add up (1 for a group without one).
    private static int InstancesFromJson(JsonElement groups)
    {
        const string field = "config.instance_group";
        if (groups.ValueKind != JsonValueKind.Array || groups.GetArrayLength() == 0)
        {
            throw Invalid(field, "must be a non-empty array of groups");
        }
        long total = 0;
        foreach (var group in groups.EnumerateArray())
        {
            if (group.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(field, "must hold objects such as {\"count\": 2}");
            }
            total += group.TryGetProperty("count", out var count) ? JsonInt(count, $"{field}.count", 1, MaxInstances) : 1;
        }
        if (total > MaxInstances)
        {
            throw Invalid(field, $"counts add up to {total}; at most {MaxInstances} instances");
        }
        return (int)total;
    }

    private static BatchingSettings BatchingFromJson(JsonElement dynamic, int max)
    {
        if (dynamic.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("config.dynamic_batching", "must be an object");
        }
        var preferred = new List<int>();
        if (dynamic.TryGetProperty("preferred_batch_size", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                throw Invalid("config.dynamic_batching.preferred_batch_size", "must be an array of batch sizes");
            }
            foreach (var item in list.EnumerateArray())
            {
                preferred.Add((int)JsonInt(item, "config.dynamic_batching.preferred_batch_size", 1, MaxBatchSizeLimit));
            }
        }
        preferred = preferred.Distinct().Order().ToList();
        if (CheckPreferred(preferred, max) is { } problem)
        {
            throw MeshErrors.InvalidArgument($"config.dynamic_batching.preferred_batch_size {problem}");
        }
        var delay = dynamic.TryGetProperty("max_queue_delay_microseconds", out var delayElement)
            ? JsonInt(delayElement, "config.dynamic_batching.max_queue_delay_microseconds", 0, MaxQueueDelayLimitMicroseconds)
            : 0;
        long queue = BatchingSettings.DefaultMaxQueueSize;
        if (dynamic.TryGetProperty("default_queue_policy", out var queuePolicy))
        {
            if (queuePolicy.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("config.dynamic_batching.default_queue_policy", "must be an object");
            }
            if (queuePolicy.TryGetProperty("max_queue_size", out var sizeElement))
            {
                // Triton's 0 means unbounded; here the queue is always bounded, so 0 takes the default bound.
                queue = JsonInt(sizeElement, "config.dynamic_batching.default_queue_policy.max_queue_size", 0, MaxQueueSizeLimit);
                if (queue == 0)
                {
                    queue = BatchingSettings.DefaultMaxQueueSize;
                }
            }
        }
        return max > 1 ? new BatchingSettings(max, preferred, TimeSpan.FromMicroseconds(delay), (int)queue) : BatchingSettings.Off;
    }

    private static VersionPolicy PolicyFromJson(JsonElement element)
    {
        const string field = "config.version_policy";
        if (element.ValueKind != JsonValueKind.Object || element.EnumerateObject().Count() != 1)
        {
            throw Invalid(field, "must be an object with exactly one of latest, all or specific");
        }
        var choice = element.EnumerateObject().First();
        switch (choice.Name)
        {
            case "all":
                return VersionPolicy.Every;
            case "latest":
                if (choice.Value.ValueKind != JsonValueKind.Object || !choice.Value.TryGetProperty("num_versions", out var n))
                {
                    throw Invalid($"{field}.latest", "must be an object with num_versions");
                }
                return VersionPolicy.LatestN((int)JsonInt(n, $"{field}.latest.num_versions", 1, MaxLatestVersions));
            case "specific":
                if (choice.Value.ValueKind != JsonValueKind.Object || !choice.Value.TryGetProperty("versions", out var versions)
                    || versions.ValueKind != JsonValueKind.Array || versions.GetArrayLength() == 0)
                {
                    throw Invalid($"{field}.specific", "must be an object with versions, a non-empty array of version numbers");
                }
                return VersionPolicy.Only(versions.EnumerateArray()
                    .Select(v => JsonInt(v, $"{field}.specific.versions", 1, long.MaxValue)).Distinct().Order().ToList());
            default:
                throw Invalid($"{field}.{choice.Name}", "is not a version policy; use latest, all or specific");
        }
    }

    /// <summary>An integer in [min, max]; protobuf's JSON writes 64-bit integers as strings, so digit strings count too.</summary>
    private static long JsonInt(JsonElement e, string field, long min, long max)
    {
        long value = 0;
        var ok = (e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out value))
            || (e.ValueKind == JsonValueKind.String && long.TryParse(e.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value));
        if (!ok || value < min || value > max)
        {
            throw Invalid(field, $"must be an integer from {min} to {max}; it is {Shorten(e.GetRawText())}");
        }
        return value;
    }

    private static long Int(IConfigurationSection model, string key, long min, long max, long fallback, List<string> errors)
    {
        var text = model[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }
        if (!long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            errors.Add($"{model.Path}:{key} must be an integer from {min} to {max}; it is '{text}'.");
            return fallback;
        }
        return value;
    }

    /// <summary>"16,32" in one value, or an array (PreferredBatchSizes:0 = 16, :1 = 32).</summary>
    private static List<int> PreferredFromConfiguration(IConfigurationSection section, List<string> errors)
    {
        var parts = section.Value is { Length: > 0 } single
            ? single.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : section.GetChildren().Select(c => c.Value ?? "").ToArray();
        var sizes = new List<int>();
        foreach (var part in parts)
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size < 1)
            {
                errors.Add($"{section.Path} must list positive batch sizes, e.g. 16,32; '{part}' is not one.");
                return [];
            }
            sizes.Add(size);
        }
        return sizes.Distinct().Order().ToList();
    }

    private static string? CheckPreferred(IReadOnlyList<int> preferred, int max)
    {
        if (preferred.Count == 0)
        {
            return null;
        }
        if (max <= 1)
        {
            return "needs a max batch size above 1 (dynamic batching on).";
        }
        var over = preferred.FirstOrDefault(p => p > max);
        return over > 0 ? $"holds {over}, above the max batch size {max}." : null;
    }

    private static Grpc.Core.RpcException Invalid(string field, string rule) => MeshErrors.InvalidArgument($"{field} {rule}.");

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
