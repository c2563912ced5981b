using System.Text.RegularExpressions;
using MaaS.Deployment.Tests.Support;

namespace MaaS.Deployment.Tests;

/// <summary>docker-compose.yml against the code, infra/mesh.sh and the README.</summary>
public sealed partial class ComposeTests
{
    private static readonly List<ComposeService> Services = ComposeFile.Services();
    private static readonly List<MeshService> Mesh = MeshScript.Load();

    private static ComposeService Service(string name) =>
        Services.SingleOrDefault(s => s.Name == name) ?? throw new Xunit.Sdk.XunitException($"docker-compose.yml has no service '{name}'.");

    [Fact]
    public void Services_EveryMeshProcess_IsAComposeServiceBuiltFromItsProject()
    {
        foreach (var mesh in Mesh)
        {
            var service = Service(mesh.Name);
            Assert.True(service.Dockerfile is not null, $"compose service {mesh.Name} is not built from a Dockerfile.");
            Assert.Equal($"{mesh.ProjectDir}/Dockerfile", service.Dockerfile);
        }
    }

    [Fact]
    public void Services_EveryBuiltService_HasADockerfileThatPublishesAnExistingProject()
    {
        var built = Services.Where(s => s.Dockerfile is not null).ToList();
        Assert.NotEmpty(built);
        foreach (var service in built)
        {
            Assert.True(File.Exists(Repo.PathOf(service.Dockerfile!)), $"{service.Name}: {service.Dockerfile} does not exist.");
            var dockerfile = DockerfileModel.Load(service.Dockerfile!);
            var project = dockerfile.PublishedProject;
            Assert.True(project is not null, $"{service.Dockerfile} runs no `dotnet publish <project>.csproj`.");
            Assert.True(File.Exists(Repo.PathOf(project!)), $"{service.Dockerfile} publishes {project}, which does not exist.");
            var entry = dockerfile.Stages[^1].LastOrDefault(i => i.Keyword == "ENTRYPOINT").Args ?? "";
            Assert.Contains($"\"{Path.GetFileNameWithoutExtension(project)}.dll\"", entry);
        }
        // Only the mesh's own processes are built here; every other service is a published image.
        Assert.Equal(Mesh.Select(m => m.Name).Order(), built.Select(s => s.Name).Order());
    }

    [Fact]
    public void Ports_EveryService_ListensOnTheMeshScriptPorts()
    {
        foreach (var mesh in Mesh)
        {
            var env = Service(mesh.Name).Environment;
            Assert.Equal(mesh.GrpcPort.ToString(), env.GetValueOrDefault("Mesh__GrpcPort"));
            Assert.Equal(mesh.MetricsPort.ToString(), env.GetValueOrDefault("Mesh__MetricsPort"));
            Assert.Equal(mesh.HttpPort.ToString(), env.GetValueOrDefault("Mesh__HttpPort", "0"));
        }
    }

    [Fact]
    public void Ports_Published_AreTheServicesOwnPortsOnTheSameHostPort()
    {
        foreach (var mesh in Mesh)
        {
            foreach (var (_, host, container) in Service(mesh.Name).Ports)
            {
                Assert.Contains(container, mesh.Ports);
                Assert.Equal(container, host);
            }
        }
        // The gateway is the public entrance: its REST and gRPC ports are published.
        var gateway = Service("gateway").Ports.Select(p => p.ContainerPort).ToList();
        Assert.Contains(8000, gateway);
        Assert.Contains(8001, gateway);
    }

    [Fact]
    public void Ports_ReadmeTable_MatchesTheMeshScript()
    {
        var readme = Repo.Read("README.md");
        foreach (var mesh in Mesh)
        {
            var row = ReadmeRows(readme).SingleOrDefault(r => r.Names.Contains(mesh.Name));
            Assert.True(row.Names is not null, $"README's process table has no row for {mesh.Name}.");
            var index = Array.IndexOf(row.Names, mesh.Name);
            Assert.Equal(mesh.GrpcPort, row.Grpc[index]);
            Assert.Equal(mesh.HttpPort, row.Http.Length > index ? row.Http[index] : 0);
            Assert.Equal(mesh.MetricsPort, row.Metrics[index]);
        }
    }

    [Fact]
    public void Environment_EveryDoubleUnderscoreVariable_IsASettingTheServiceBinds()
    {
        var unknown = new List<string>();
        foreach (var mesh in Mesh)
        {
            var catalog = SettingsCatalog.ForProject(mesh.Csproj);
            foreach (var name in Service(mesh.Name).Environment.Keys.Where(k => k.Contains("__")))
            {
                if (!catalog.Binds(name.Replace("__", ":"))) unknown.Add($"{mesh.Name}: {name}");
            }
        }
        Assert.True(unknown.Count == 0, "Variables no options class of the service binds:\n" + string.Join('\n', unknown));
    }

    [Fact]
    public void Environment_MeshScriptSettings_AreInComposeWithServiceNamesForLoopback()
    {
        var portOwner = Mesh.SelectMany(m => m.Ports.Select(p => (p, m.Name))).ToDictionary(x => x.p, x => x.Name);
        foreach (var mesh in Mesh)
        {
            var env = Service(mesh.Name).Environment;
            foreach (var (key, value) in mesh.Args.Where(a => !a.Value.Contains('$')))
            {
                var expected = Loopback().Replace(value, m => $"{portOwner[int.Parse(m.Groups[1].Value)]}:{m.Groups[1].Value}");
                var name = key.Replace(":", "__");
                Assert.True(env.ContainsKey(name), $"compose service {mesh.Name} lacks {name} (infra/mesh.sh passes --{key}={value}).");
                Assert.Equal(expected, env[name]);
            }
        }
    }

    [Fact]
    public void Infrastructure_BrokerWithManagementAndPostgresForTheRegistry_AreThereWithHealthChecks()
    {
        var rabbit = Service("rabbitmq");
        Assert.Matches("^rabbitmq:.*management", rabbit.Node["image"]!.ToString());
        Assert.NotNull(rabbit.Node["healthcheck"]);
        var postgres = Service("postgres");
        Assert.StartsWith("postgres:", postgres.Node["image"]!.ToString());
        Assert.NotNull(postgres.Node["healthcheck"]);

        var registry = Service("registry").Environment;
        Assert.Equal("Postgres", registry["Registry__Store"]);
        Assert.Contains("Host=postgres;", registry["Registry__ConnectionString"]);
        Assert.Contains("postgres", Service("registry").Node["depends_on"]!.AsObject().Select(p => p.Key));
        foreach (var mesh in Mesh)
        {
            Assert.Equal("rabbitmq", Service(mesh.Name).Environment["Bus__Host"]);
        }
    }

    [Fact]
    public void Volumes_BlobsStateAndTheAdminKey_LiveOnNamedVolumes()
    {
        var declared = ComposeFile.Document()["volumes"]!.AsObject().Select(p => p.Key).ToHashSet();
        var registry = Service("registry");
        var blobs = registry.Environment["Registry__BlobDirectory"];
        Assert.Contains(registry.Volumes, v => v.Target == blobs && declared.Contains(v.Source));

        var gateway = Service("gateway");
        var keyFile = gateway.Environment["Gateway__Auth__AdminKeyFile"];
        Assert.Contains(gateway.Volumes, v => keyFile.StartsWith(v.Target + "/", StringComparison.Ordinal) && declared.Contains(v.Source));

        foreach (var service in Services)
        {
            foreach (var (source, _) in service.Volumes.Where(v => !v.Source.StartsWith('.')))
            {
                Assert.True(declared.Contains(source), $"{service.Name} mounts volume {source}, which is not declared.");
            }
            foreach (var (source, _) in service.Volumes.Where(v => v.Source.StartsWith('.')))
            {
                Assert.True(File.Exists(Repo.PathOf(source)) || Directory.Exists(Repo.PathOf(source)), $"{service.Name} mounts {source}, which does not exist.");
            }
        }
    }

    [Fact]
    public void Inference_TwoReplicas_OfOneImageAreBothGatewayReplicas()
    {
        var inference = Services.Where(s => s.Dockerfile == "services/MaaS.Inference/Dockerfile").ToList();
        Assert.Equal(2, inference.Count);
        Assert.Equal(2, inference.Select(s => s.Environment["Inference__ReplicaId"]).Distinct().Count());
        var gateway = Service("gateway").Environment;
        foreach (var replica in inference)
        {
            var grpc = $"http://{replica.Name}:{replica.Environment["Mesh__GrpcPort"]}";
            Assert.Contains(gateway, e => e.Key.EndsWith("__GrpcAddress", StringComparison.Ordinal) && e.Value == grpc);
        }
    }

    private static IEnumerable<(string[] Names, int[] Grpc, int[] Http, int[] Metrics)> ReadmeRows(string readme)
    {
        foreach (var line in readme.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal)))
        {
            var cells = line.Split('|').Select(c => c.Trim()).ToArray();
            if (cells.Length < 6 || !Ports().IsMatch(cells[2])) continue;
            var names = cells[1].Split(" / ");
            for (var i = 1; i < names.Length; i++)
            {
                // "inference-a / -b" names inference-a and inference-b.
                if (names[i].StartsWith('-')) names[i] = names[0][..names[0].LastIndexOf('-')] + names[i];
            }
            yield return (names, Numbers(cells[2]), Numbers(cells[3]), Numbers(cells[4]));
        }
    }

    private static int[] Numbers(string cell) => Ports().Matches(cell).Select(m => int.Parse(m.Groups[1].Value)).ToArray();

    [GeneratedRegex(@":(\d+)")]
    private static partial Regex Ports();

    [GeneratedRegex(@"127\.0\.0\.1:(\d+)")]
    private static partial Regex Loopback();
}
