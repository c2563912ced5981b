using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MaaS.Deployment.Tests.Support;

/// <summary>One service of docker-compose.yml, merge keys resolved.</summary>
public sealed partial record ComposeService(string Name, JsonObject Node)
{
    /// <summary>The Dockerfile (relative to the root) when the service is built here, else null.</summary>
    public string? Dockerfile => Node["build"] is JsonObject build
        ? Repo.Relative(Repo.PathOf(Path.Combine(build["context"]?.GetValue<string>() ?? ".", build["dockerfile"]?.GetValue<string>() ?? "Dockerfile")))
        : null;

    /// <summary>The environment, as written (values as strings).</summary>
    public Dictionary<string, string> Environment => Node["environment"] switch
    {
        JsonObject map => map.ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "", StringComparer.Ordinal),
        JsonArray list => list.Select(i => i!.GetValue<string>().Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal),
        _ => [],
    };

    /// <summary>Published ports as (host address, host port, container port).</summary>
    public List<(string Address, int HostPort, int ContainerPort)> Ports =>
        (Node["ports"] as JsonArray ?? []).Select(p =>
        {
            var m = PortSpec().Match(p!.ToString());
            Assert.True(m.Success, $"compose service {Name}: port '{p}' is not [address:]host:container.");
            return (m.Groups[1].Success ? m.Groups[1].Value : "0.0.0.0", int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value));
        }).ToList();

    /// <summary>Volume mounts as (source, target).</summary>
    public List<(string Source, string Target)> Volumes =>
        (Node["volumes"] as JsonArray ?? []).Select(v => v!.ToString().Split(':')).Select(p => (p[0], p[1])).ToList();

    [GeneratedRegex(@"^(?:([0-9.]+):)?(\d+):(\d+)$")]
    private static partial Regex PortSpec();
}

/// <summary>docker-compose.yml at the repository root.</summary>
public static class ComposeFile
{
    /// <summary>The document, merge keys resolved.</summary>
    public static JsonObject Document() => YamlJson.Load(Repo.Read("docker-compose.yml")).AsObject();

    /// <summary>Every service.</summary>
    public static List<ComposeService> Services() =>
        Document()["services"]!.AsObject().Select(p => new ComposeService(p.Key, p.Value!.AsObject())).ToList();
}
