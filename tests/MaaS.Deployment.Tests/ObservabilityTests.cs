using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MaaS.Deployment.Tests.Support;

namespace MaaS.Deployment.Tests;

/// <summary>infra/prometheus and infra/grafana against the ports and the metric names in the code.</summary>
public sealed partial class ObservabilityTests
{
    /// <summary>Metric names the dashboard may use that are not the mesh's own: RabbitMQ's plugin and prometheus-net's process collector.</summary>
    private static readonly string[] ExternalPrefixes = ["rabbitmq_", "process_"];

    [Fact]
    public void Prometheus_ComposeConfig_ScrapesEveryServiceOnItsMetricsPort()
    {
        var config = YamlJson.Load(Repo.Read("infra/prometheus/prometheus.yml"));
        var targets = config["scrape_configs"]!.AsArray()
            .SelectMany(j => j!["static_configs"]?.AsArray() ?? [])
            .SelectMany(s => s!["targets"]!.AsArray().Select(t => t!.ToString())).ToHashSet();
        var compose = ComposeFile.Services().Select(s => s.Name).ToHashSet();
        foreach (var mesh in MeshScript.Load())
        {
            Assert.Contains($"{mesh.Name}:{mesh.MetricsPort}", targets);
        }
        foreach (var target in targets)
        {
            Assert.Contains(target.Split(':')[0], compose);
        }
    }

    [Fact]
    public void Prometheus_KubernetesConfig_KeepsAnnotatedPodsAndUsesTheirPort()
    {
        var config = YamlJson.Load(Repo.Read("infra/prometheus/prometheus-k8s.yml"));
        var job = config["scrape_configs"]!.AsArray().Single()!;
        Assert.Equal("pod", job["kubernetes_sd_configs"]![0]!["role"]!.ToString());
        var relabels = job["relabel_configs"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.Contains(relabels, r => r["action"]?.ToString() == "keep"
            && r["source_labels"]![0]!.ToString() == "__meta_kubernetes_pod_annotation_prometheus_io_scrape");
        Assert.Contains(relabels, r => r["target_label"]?.ToString() == "__address__"
            && r["source_labels"]!.AsArray().Any(s => s!.ToString() == "__meta_kubernetes_pod_annotation_prometheus_io_port"));
    }

    [Fact]
    public void Grafana_Dashboard_UsesOnlyMetricsTheCodeDefines()
    {
        var defined = DefinedMetrics();
        Assert.NotEmpty(defined);
        var used = Expressions().SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).ToHashSet();
        Assert.NotEmpty(used);
        foreach (var name in used.Where(n => !ExternalPrefixes.Any(p => n.StartsWith(p, StringComparison.Ordinal))))
        {
            var baseName = HistogramSuffix().Replace(name, "");
            Assert.True(defined.Contains(baseName), $"The dashboard uses {name}, which no service defines (defined: {string.Join(", ", defined.Order())}).");
        }
    }

    [Fact]
    public void Grafana_Dashboard_CoversTrafficLatencyErrorsRolloutsAndTraining()
    {
        var dashboard = JsonNode.Parse(Repo.Read("infra/grafana/maas-mesh.json"))!;
        var rows = dashboard["panels"]!.AsArray().Where(p => p!["type"]!.ToString() == "row").Select(p => p!["title"]!.ToString().ToLowerInvariant()).ToList();
        foreach (var topic in new[] { "traffic", "latency", "errors", "rollout", "training" })
        {
            Assert.Contains(rows, r => r.Contains(topic));
        }
        var all = string.Join('\n', Expressions());
        Assert.Contains("by (model, version)", all);
        Assert.Contains("trainer-train-model", all);
        Assert.Contains("histogram_quantile", all);
    }

    [Fact]
    public void Grafana_Provisioning_PointsAtTheComposePrometheusAndTheMountedDashboard()
    {
        var source = YamlJson.Load(Repo.Read("infra/grafana/provisioning/datasources/prometheus.yml"))["datasources"]![0]!;
        Assert.Equal("http://prometheus:9090", source["url"]!.ToString());
        var provider = YamlJson.Load(Repo.Read("infra/grafana/provisioning/dashboards/maas.yml"))["providers"]![0]!;
        var grafana = ComposeFile.Services().Single(s => s.Name == "grafana");
        var mount = grafana.Volumes.Single(v => v.Source.EndsWith("maas-mesh.json", StringComparison.Ordinal));
        Assert.Equal(provider["options"]!["path"]!.ToString(), Path.GetDirectoryName(mount.Target));
        Assert.Contains(ComposeFile.Services().Single(s => s.Name == "prometheus").Volumes, v => v.Source == "./infra/prometheus/prometheus.yml");
    }

    private static IEnumerable<string> Expressions() =>
        JsonNode.Parse(Repo.Read("infra/grafana/maas-mesh.json"))!["panels"]!.AsArray()
            .SelectMany(p => p!["targets"]?.AsArray() ?? []).Select(t => t!["expr"]!.ToString());

    /// <summary>Every metric name passed to prometheus-net's Metrics.Create* in the services and the gateway.</summary>
    private static HashSet<string> DefinedMetrics() =>
        Repo.SourceFiles("services", "*.cs").Concat(Repo.SourceFiles("gateway", "*.cs"))
            .SelectMany(f => MetricDefinition().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value)).ToHashSet();

    [GeneratedRegex(@"Create(?:Counter|Gauge|Histogram|Summary)\(\s*""([a-z_:][a-z0-9_:]*)""")]
    private static partial Regex MetricDefinition();

    [GeneratedRegex(@"\b(?:maas|rabbitmq|process)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex HistogramSuffix();
}
