using System.Text.Json.Nodes;
using MaaS.Deployment.Tests.Support;

namespace MaaS.Deployment.Tests;

/// <summary>infra/k8s: schema-valid objects, settings the code binds, probes, resources, pools and scaling.</summary>
public sealed class KubernetesTests
{
    private static readonly string[] BuildDirs = ["infra/k8s/base", "infra/k8s/overlays/local", "infra/k8s/overlays/production"];

    public static TheoryData<string> Builds() => new(BuildDirs);

    /// <summary>Mesh image name → the project its Dockerfile publishes.</summary>
    private static readonly Dictionary<string, string> Images = new()
    {
        ["maas/registry"] = "services/MaaS.Registry/MaaS.Registry.csproj",
        ["maas/trainer"] = "services/MaaS.Trainer/MaaS.Trainer.csproj",
        ["maas/updater"] = "services/MaaS.Updater/MaaS.Updater.csproj",
        ["maas/inference"] = "services/MaaS.Inference/MaaS.Inference.csproj",
        ["maas/gateway"] = "gateway/MaaS.Gateway/MaaS.Gateway.csproj",
    };

    [Theory]
    [MemberData(nameof(Builds))]
    public void Schemas_EveryObjectOfTheBuild_IsValid(string dir)
    {
        var objects = Kustomization.Build(dir);
        Assert.NotEmpty(objects);
        var problems = objects.SelectMany(KubernetesSchemas.Validate).ToList();
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Schemas_EveryManifestFile_IsUsedByAKustomization()
    {
        var used = BuildDirs.SelectMany(Kustomization.FilesUsed).ToHashSet();
        var files = Directory.EnumerateFiles(Repo.PathOf("infra/k8s"), "*.yaml", SearchOption.AllDirectories).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            Assert.True(used.Contains(file), $"{Repo.Relative(file)} is not part of any kustomization, so nothing validates it.");
        }
    }

    [Fact]
    public void Schemas_Validator_RejectsUnknownFieldsWrongTypesAndIncompleteScaledObjects()
    {
        var deployment = Object("infra/k8s/overlays/local", "Deployment", "gateway");
        Kustomization.Containers(deployment).First()["imagePullPolcy"] = "Always";
        Assert.Contains(KubernetesSchemas.Validate(deployment), p => p.Contains("imagePullPolcy"));

        var hpa = Object("infra/k8s/overlays/local", "HorizontalPodAutoscaler", "inference-default");
        hpa["spec"]!["minReplicas"] = "two";
        Assert.NotEmpty(KubernetesSchemas.Validate(hpa));

        var scaled = Object("infra/k8s/overlays/local", "ScaledObject", "trainer");
        scaled["spec"]!.AsObject().Remove("triggers");
        Assert.NotEmpty(KubernetesSchemas.Validate(scaled));
        scaled = Object("infra/k8s/overlays/local", "ScaledObject", "trainer");
        scaled["spec"]!["triggers"]![0]!["metadata"]!["value"] = 2;
        Assert.NotEmpty(KubernetesSchemas.Validate(scaled));
        scaled = Object("infra/k8s/overlays/local", "ScaledObject", "trainer");
        scaled["spec"]!["minReplicas"] = 1;
        Assert.NotEmpty(KubernetesSchemas.Validate(scaled));

        var unknownKind = new JsonObject { ["apiVersion"] = "example.com/v1", ["kind"] = "Thing", ["metadata"] = new JsonObject { ["name"] = "x" } };
        Assert.NotEmpty(KubernetesSchemas.Validate(unknownKind));
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public void Environment_EveryMeshContainerVariable_IsASettingItsServiceBinds(string dir)
    {
        var objects = Kustomization.Build(dir);
        var configMaps = objects.Where(o => o["kind"]!.ToString() == "ConfigMap")
            .ToDictionary(o => o["metadata"]!["name"]!.ToString(), o => o["data"]?.AsObject() ?? []);
        var unknown = new List<string>();
        foreach (var (workload, container, project) in MeshContainers(objects))
        {
            var catalog = SettingsCatalog.ForProject(project);
            var names = (container["env"] as JsonArray ?? []).Select(e => e!["name"]!.ToString()).ToList();
            foreach (var source in container["envFrom"] as JsonArray ?? [])
            {
                var cm = source!["configMapRef"]?["name"]?.ToString();
                Assert.True(cm is not null && configMaps.ContainsKey(cm), $"{workload}: envFrom names a ConfigMap the build lacks.");
                names.AddRange(configMaps[cm!].Select(p => p.Key));
            }
            unknown.AddRange(names.Where(n => n.Contains("__") && !catalog.Binds(n.Replace("__", ":"))).Select(n => $"{workload}: {n}"));
        }
        Assert.True(unknown.Count == 0, "Variables no options class of the service binds:\n" + string.Join('\n', unknown));
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public void Probes_EveryMeshContainer_IsReadyOnGrpcHealthOfItsGrpcPortAndHasLimits(string dir)
    {
        foreach (var (workload, container, _) in MeshContainers(Kustomization.Build(dir)))
        {
            var grpcPort = Env(container, "Mesh__GrpcPort");
            Assert.True(grpcPort is not null, $"{workload} sets no Mesh__GrpcPort.");
            Assert.Equal(int.Parse(grpcPort!), container["readinessProbe"]?["grpc"]?["port"]?.GetValue<long>());
            Assert.Equal(int.Parse(grpcPort!), container["startupProbe"]?["grpc"]?["port"]?.GetValue<long>());
            Assert.NotNull(container["livenessProbe"]);
            var ports = (container["ports"] as JsonArray ?? []).Select(p => p!["containerPort"]!.GetValue<long>()).ToList();
            foreach (var setting in new[] { "Mesh__GrpcPort", "Mesh__HttpPort", "Mesh__MetricsPort" })
            {
                if (Env(container, setting) is { } v && v != "0") Assert.Contains(long.Parse(v), ports);
            }
            foreach (var part in new[] { "requests", "limits" })
            {
                Assert.True(container["resources"]?[part]?["cpu"] is not null && container["resources"]?[part]?["memory"] is not null,
                    $"{workload}: resources.{part} needs cpu and memory.");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public void Metrics_EveryMeshPod_IsAnnotatedForScrapingOnItsMetricsPort(string dir)
    {
        foreach (var (workload, container, _) in MeshContainers(Kustomization.Build(dir)))
        {
            var annotations = WorkloadOf(dir, workload)["spec"]!["template"]!["metadata"]!["annotations"]!;
            Assert.Equal("true", annotations["prometheus.io/scrape"]?.ToString());
            Assert.Equal(Env(container, "Mesh__MetricsPort"), annotations["prometheus.io/port"]?.ToString());
        }
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public void Pools_EveryGatewayEntry_ResolvesAHeadlessServiceOfThatPoolsOwnDeploymentWithAnAutoscaler(string dir)
    {
        var objects = Kustomization.Build(dir);
        var gateway = Kustomization.Containers(Find(objects, "Deployment", "gateway")).Single();
        var entries = (gateway["env"] as JsonArray)!.Select(e => e!.AsObject())
            .Where(e => e["name"]!.ToString().StartsWith("Gateway__Replicas__", StringComparison.Ordinal))
            .GroupBy(e => e["name"]!.ToString().Split("__")[2])
            .Select(g => g.ToDictionary(e => e["name"]!.ToString().Split("__")[3], e => e["value"]!.ToString()))
            .ToList();
        Assert.True(entries.Count >= 2, "The gateway should list at least two inference pools.");
        var pools = new HashSet<string>();
        foreach (var entry in entries)
        {
            Assert.Equal("true", entry["ResolveDns"]);
            var grpc = new Uri(entry["GrpcAddress"]);
            var rest = new Uri(entry["RestAddress"]);
            Assert.Equal(grpc.Host, rest.Host);
            var service = Find(objects, "Service", grpc.Host);
            Assert.Equal("None", service["spec"]!["clusterIP"]?.ToString());
            var selector = service["spec"]!["selector"]!.AsObject();
            var deployments = objects.Where(o => o["kind"]!.ToString() == "Deployment" && Matches(selector, o)).ToList();
            var deployment = Assert.Single(deployments);
            var container = Kustomization.Containers(deployment).Single();
            Assert.Equal(entry["Pool"], Env(container, "Inference__Pool"));
            Assert.Equal(grpc.Port.ToString(), Env(container, "Mesh__GrpcPort"));
            Assert.Equal(rest.Port.ToString(), Env(container, "Mesh__HttpPort"));
            var hpa = objects.Single(o => o["kind"]!.ToString() == "HorizontalPodAutoscaler"
                && o["spec"]!["scaleTargetRef"]!["name"]!.ToString() == deployment["metadata"]!["name"]!.ToString());
            Assert.Equal("Deployment", hpa["spec"]!["scaleTargetRef"]!["kind"]!.ToString());
            Assert.True(pools.Add(entry["Pool"]), $"pool {entry["Pool"]} is listed twice.");
        }
        // The registry accepts deployments to exactly the pools that exist.
        var registry = Kustomization.Containers(Find(objects, "Deployment", "registry")).Single();
        var registryPools = (registry["env"] as JsonArray)!.Where(e => e!["name"]!.ToString().StartsWith("Registry__Pools__", StringComparison.Ordinal))
            .Select(e => e!["value"]!.ToString()).ToHashSet();
        Assert.Equal(pools.Order(), registryPools.Order());
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public void Trainer_ScaledByKedaOnTheQueueItsConsumerReads(string dir)
    {
        var objects = Kustomization.Build(dir);
        var scaled = Find(objects, "ScaledObject", "trainer");
        var target = scaled["spec"]!["scaleTargetRef"]!;
        var workload = Find(objects, target["kind"]!.ToString(), target["name"]!.ToString());
        Assert.Equal("maas/trainer", Image(Kustomization.Containers(workload).Single()));
        var trigger = scaled["spec"]!["triggers"]!.AsArray().Single()!;
        Assert.Equal("rabbitmq", trigger["type"]!.ToString());
        // The queue MassTransit names for TrainModelConsumer in the trainer: "<service>-<consumer, kebab-case>".
        Assert.True(File.Exists(Repo.PathOf("services/MaaS.Trainer/Consumers/TrainModelConsumer.cs")));
        Assert.Equal("trainer-train-model", trigger["metadata"]!["queueName"]!.ToString());
        var hostEnv = trigger["metadata"]!["hostFromEnv"]!.ToString();
        Assert.NotNull(Kustomization.Containers(workload).Single()["env"]!.AsArray().SingleOrDefault(e => e!["name"]!.ToString() == hostEnv));
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public void Infrastructure_RabbitMqAndPostgres_AreStatefulSetsBehindTheServiceNamesTheMeshUses(string dir)
    {
        var objects = Kustomization.Build(dir);
        var common = Find(objects, "ConfigMap", "maas-common")["data"]!;
        var broker = common["Bus__Host"]!.ToString();
        Assert.Equal("StatefulSet", Selected(objects, Find(objects, "Service", broker))["kind"]!.ToString());
        foreach (var service in new[] { "registry", "trainer", "updater" })
        {
            var address = new Uri(common[$"Services__{char.ToUpperInvariant(service[0])}{service[1..]}"]!.ToString());
            var svc = Find(objects, "Service", address.Host);
            Assert.Contains(svc["spec"]!["ports"]!.AsArray(), p => p!["port"]!.GetValue<long>() == address.Port);
        }
        Assert.Equal("StatefulSet", Find(objects, "StatefulSet", "postgres")["kind"]!.ToString());
    }

    private static IEnumerable<(string Workload, JsonObject Container, string Project)> MeshContainers(List<JsonObject> objects)
    {
        var found = 0;
        foreach (var o in objects.Where(o => o["kind"]!.ToString() is "Deployment" or "StatefulSet"))
        {
            foreach (var c in Kustomization.Containers(o))
            {
                var image = Image(c);
                if (Images.TryGetValue(image, out var project))
                {
                    found++;
                    yield return ($"{o["kind"]} {o["metadata"]!["name"]}", c, project);
                }
            }
        }
        Assert.True(found >= Images.Count, "Some mesh service has no workload.");
    }

    /// <summary>The image without registry host override, tag or digest, mapped back to maas/&lt;name&gt;.</summary>
    private static string Image(JsonObject container)
    {
        var image = container["image"]!.ToString().Split('@')[0];
        var colon = image.LastIndexOf(':');
        if (colon > image.LastIndexOf('/')) image = image[..colon];
        var parts = image.Split('/');
        return parts.Length >= 2 && parts[^2] == "maas" ? $"maas/{parts[^1]}" : image;
    }

    private static string? Env(JsonObject container, string name) =>
        (container["env"] as JsonArray ?? []).FirstOrDefault(e => e!["name"]!.ToString() == name)?["value"]?.ToString();

    private static JsonObject Find(List<JsonObject> objects, string kind, string name) =>
        objects.SingleOrDefault(o => o["kind"]!.ToString() == kind && o["metadata"]!["name"]!.ToString() == name)
        ?? throw new Xunit.Sdk.XunitException($"The build has no {kind} {name}.");

    private static JsonObject Object(string dir, string kind, string name) => Find(Kustomization.Build(dir), kind, name);

    private static JsonObject WorkloadOf(string dir, string workload)
    {
        var parts = workload.Split(' ');
        return Object(dir, parts[0], parts[1]);
    }

    private static bool Matches(JsonObject selector, JsonObject workload)
    {
        var labels = workload["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        return selector.All(s => labels[s.Key]?.ToString() == s.Value!.ToString());
    }

    private static JsonObject Selected(List<JsonObject> objects, JsonObject service) =>
        objects.Single(o => o["kind"]!.ToString() is "Deployment" or "StatefulSet" && Matches(service["spec"]!["selector"]!.AsObject(), o));
}
