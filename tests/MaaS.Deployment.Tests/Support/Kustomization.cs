using System.Text.Json.Nodes;

namespace MaaS.Deployment.Tests.Support;

/// <summary>
/// A kustomize-style build of infra/k8s for the tests, for the fields those kustomizations use: resources
/// (files and folders with a kustomization.yaml), namespace, labels (metadata only), images, replicas and
/// patches (strategic merge: maps merged key by key, lists of named items merged by name, other lists
/// replaced; the target is the object of the same kind and name). Any other field fails the build, so
/// a kustomization cannot use something this composition would silently ignore.
/// </summary>
public static class Kustomization
{
    private static readonly HashSet<string> Supported = ["apiVersion", "kind", "namespace", "resources", "labels", "images", "replicas", "patches"];

    private static readonly HashSet<string> ClusterScoped = ["Namespace", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"];

    /// <summary>The objects of the kustomization in <paramref name="dir"/> (relative to the root), in order.</summary>
    public static List<JsonObject> Build(string dir) => Build(Repo.PathOf(dir), []);

    /// <summary>Every file a kustomization under <paramref name="dir"/> reads (resources and patches), absolute paths.</summary>
    public static HashSet<string> FilesUsed(string dir)
    {
        var used = new HashSet<string>();
        Build(Repo.PathOf(dir), used);
        return used;
    }

    private static List<JsonObject> Build(string dir, HashSet<string> used)
    {
        var file = Path.Combine(dir, "kustomization.yaml");
        Assert.True(File.Exists(file), $"{Repo.Relative(dir)} has no kustomization.yaml.");
        used.Add(file);
        var k = YamlJson.Load(File.ReadAllText(file)).AsObject();
        var unsupported = k.Select(p => p.Key).Where(key => !Supported.Contains(key)).ToList();
        Assert.True(unsupported.Count == 0, $"{Repo.Relative(file)} uses {string.Join(", ", unsupported)}, which the test composition does not apply.");
        Assert.Equal("kustomize.config.k8s.io/v1beta1", k["apiVersion"]?.ToString());
        Assert.Equal("Kustomization", k["kind"]?.ToString());

        var objects = new List<JsonObject>();
        foreach (var resource in (k["resources"] as JsonArray ?? []).Select(r => Path.GetFullPath(Path.Combine(dir, r!.ToString()))))
        {
            if (Directory.Exists(resource))
            {
                objects.AddRange(Build(resource, used));
            }
            else
            {
                Assert.True(File.Exists(resource), $"{Repo.Relative(file)} names {Repo.Relative(resource)}, which does not exist.");
                used.Add(resource);
                objects.AddRange(YamlJson.LoadAll(File.ReadAllText(resource)).Select(o => o.AsObject()));
            }
        }
        foreach (var patch in (k["patches"] as JsonArray ?? []).Select(p => p!.AsObject()))
        {
            Assert.True(patch.Count == 1 && patch["path"] is not null, $"{Repo.Relative(file)}: a patch must be {{ path: file }}.");
            var path = Path.GetFullPath(Path.Combine(dir, patch["path"]!.ToString()));
            used.Add(path);
            foreach (var p in YamlJson.LoadAll(File.ReadAllText(path)).Select(o => o.AsObject()))
            {
                var target = objects.SingleOrDefault(o => Same(o, p));
                Assert.True(target is not null, $"{Repo.Relative(path)} patches {p["kind"]} {p["metadata"]?["name"]}, which the resources do not have.");
                Merge(target!, p);
            }
        }
        foreach (var replica in (k["replicas"] as JsonArray ?? []).Select(r => r!.AsObject()))
        {
            var target = objects.Single(o => o["metadata"]?["name"]?.ToString() == replica["name"]!.ToString() && o["kind"]?.ToString() is "Deployment" or "StatefulSet");
            target["spec"]!["replicas"] = replica["count"]!.DeepClone();
        }
        foreach (var image in (k["images"] as JsonArray ?? []).Select(i => i!.AsObject()))
        {
            SetImage(objects, image["name"]!.ToString(), image["newName"]?.ToString(), image["newTag"]?.ToString());
        }
        foreach (var labels in (k["labels"] as JsonArray ?? []).Select(l => l!["pairs"]!.AsObject()))
        {
            foreach (var o in objects)
            {
                var meta = o["metadata"]!.AsObject();
                meta["labels"] ??= new JsonObject();
                foreach (var (key, value) in labels) meta["labels"]![key] = value!.DeepClone();
            }
        }
        if (k["namespace"] is { } ns)
        {
            foreach (var o in objects.Where(o => !ClusterScoped.Contains(o["kind"]!.ToString())))
            {
                o["metadata"]!["namespace"] = ns.ToString();
            }
        }
        return objects;
    }

    private static bool Same(JsonObject a, JsonObject b) =>
        a["kind"]?.ToString() == b["kind"]?.ToString() && a["metadata"]?["name"]?.ToString() == b["metadata"]?["name"]?.ToString();

    /// <summary>Strategic-merge of <paramref name="patch"/> into <paramref name="target"/>.</summary>
    public static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch)
        {
            if (value is JsonObject po && target[key] is JsonObject to)
            {
                Merge(to, po);
            }
            else if (value is JsonArray pa && target[key] is JsonArray ta && pa.All(Named) && ta.All(Named))
            {
                foreach (var item in pa.Select(i => i!.AsObject()))
                {
                    var match = ta.Select(t => t!.AsObject()).FirstOrDefault(t => t["name"]!.ToString() == item["name"]!.ToString());
                    if (match is null) ta.Add(item.DeepClone());
                    else Merge(match, item);
                }
            }
            else
            {
                target[key] = value?.DeepClone();
            }
        }
    }

    private static bool Named(JsonNode? n) => n is JsonObject o && o["name"] is JsonValue;

    private static void SetImage(List<JsonObject> objects, string name, string? newName, string? newTag)
    {
        foreach (var container in objects.SelectMany(Containers))
        {
            var image = container["image"]!.ToString();
            var bare = image.Split('@')[0];
            var colon = bare.LastIndexOf(':');
            if (colon > bare.LastIndexOf('/')) bare = bare[..colon];
            if (bare != name) continue;
            var tag = newTag ?? (image.Length > bare.Length ? image[(bare.Length + 1)..] : null);
            container["image"] = (newName ?? bare) + (tag is null ? "" : ":" + tag);
        }
    }

    /// <summary>The containers (init containers included) of a workload's pod template.</summary>
    public static IEnumerable<JsonObject> Containers(JsonObject o)
    {
        var pod = o["spec"]?["template"]?["spec"];
        if (pod is null) yield break;
        foreach (var list in new[] { "initContainers", "containers" })
        {
            foreach (var c in pod[list] as JsonArray ?? []) yield return c!.AsObject();
        }
    }
}
