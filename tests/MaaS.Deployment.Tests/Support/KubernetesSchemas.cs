using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using k8s;
using k8s.Models;

namespace MaaS.Deployment.Tests.Support;

/// <summary>
/// Validates Kubernetes objects with libraries, not hand-written rules. Built-in kinds: the KubernetesClient
/// typed models (generated from the Kubernetes OpenAPI schema), loaded with strict YAML deserialization, which
/// rejects any field the schema lacks and any value of the wrong type (quantities, int-or-string included).
/// KEDA's ScaledObject: JsonSchema.Net against the openAPIV3Schema of KEDA's own CRD (vendored under
/// Schemas/keda), read strictly (no unknown fields). A kind with neither is an error.
/// </summary>
public static class KubernetesSchemas
{
    private static readonly Dictionary<string, Type> Typed = new()
    {
        ["v1/Namespace"] = typeof(V1Namespace),
        ["v1/ConfigMap"] = typeof(V1ConfigMap),
        ["v1/Secret"] = typeof(V1Secret),
        ["v1/Service"] = typeof(V1Service),
        ["v1/PersistentVolumeClaim"] = typeof(V1PersistentVolumeClaim),
        ["apps/v1/Deployment"] = typeof(V1Deployment),
        ["apps/v1/StatefulSet"] = typeof(V1StatefulSet),
        ["autoscaling/v2/HorizontalPodAutoscaler"] = typeof(V2HorizontalPodAutoscaler),
        ["policy/v1/PodDisruptionBudget"] = typeof(V1PodDisruptionBudget),
    };

    private static readonly Lazy<Dictionary<string, JsonSchema>> CrdSchemas = new(LoadCrds);

    /// <summary>The problems of one object (empty when it is valid).</summary>
    public static List<string> Validate(JsonObject obj)
    {
        var gvk = $"{obj["apiVersion"]}/{obj["kind"]}";
        var name = $"{obj["kind"]} {obj["metadata"]?["name"]}";
        if (Typed.TryGetValue(gvk, out var type))
        {
            try
            {
                var loaded = KubernetesYaml.LoadAllFromString(obj.ToJsonString(), new Dictionary<string, Type> { [gvk] = type }, strict: true);
                return loaded.Count == 1 && loaded[0].GetType() == type ? [] : [$"{name}: did not load as {type.Name}."];
            }
            catch (Exception e)
            {
                return [$"{name}: {e.Message} {e.InnerException?.Message}".Trim()];
            }
        }
        if (CrdSchemas.Value.TryGetValue(gvk, out var schema))
        {
            using var doc = JsonDocument.Parse(obj.ToJsonString());
            var result = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            return result.IsValid
                ? []
                : (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                    .SelectMany(d => d.Errors!.Select(e => $"{name}: {d.InstanceLocation}: {e.Value}")).DefaultIfEmpty($"{name}: invalid").ToList();
        }
        return [$"{name}: no schema for {gvk} (add its typed model or vendor its CRD under Schemas/)."];
    }

    /// <summary>The kinds the validator knows (apiVersion/kind).</summary>
    public static IEnumerable<string> Kinds => Typed.Keys.Concat(CrdSchemas.Value.Keys);

    private static Dictionary<string, JsonSchema> LoadCrds()
    {
        var result = new Dictionary<string, JsonSchema>();
        var dir = Path.Combine(AppContext.BaseDirectory, "Schemas");
        foreach (var file in Directory.EnumerateFiles(dir, "*.yaml", SearchOption.AllDirectories))
        {
            foreach (var crd in YamlJson.LoadAll(File.ReadAllText(file)).Where(d => d["kind"]?.ToString() == "CustomResourceDefinition"))
            {
                var group = crd["spec"]!["group"]!.ToString();
                var kind = crd["spec"]!["names"]!["kind"]!.ToString();
                foreach (var version in crd["spec"]!["versions"]!.AsArray())
                {
                    var openApi = version!["schema"]!["openAPIV3Schema"]!.DeepClone().AsObject();
                    Strict(openApi);
                    result[$"{group}/{version["name"]}/{kind}"] = JsonSchema.FromText(openApi.ToJsonString());
                }
            }
        }
        return result;
    }

    /// <summary>
    /// No unknown fields: every object schema that lists its properties and says nothing of others gets
    /// additionalProperties: false (the API server's strict field validation). metadata is left open, as the
    /// CRD leaves it to the API server's ObjectMeta.
    /// </summary>
    private static void Strict(JsonObject schema)
    {
        if (schema["properties"] is JsonObject props)
        {
            schema["additionalProperties"] ??= false;
            foreach (var (_, child) in props)
            {
                if (child is JsonObject c) Strict(c);
            }
        }
        foreach (var key in new[] { "items", "additionalProperties" })
        {
            if (schema[key] is JsonObject c) Strict(c);
        }
        foreach (var key in new[] { "anyOf", "allOf", "oneOf" })
        {
            foreach (var c in schema[key] as JsonArray ?? []) if (c is JsonObject o) Strict(o);
        }
    }
}
