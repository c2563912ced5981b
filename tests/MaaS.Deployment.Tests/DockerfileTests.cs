using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MaaS.Deployment.Tests.Support;

namespace MaaS.Deployment.Tests;

/// <summary>Every service's Dockerfile: two stages, a non-root user, a health check that works without curl.</summary>
public sealed class DockerfileTests
{
    private static IEnumerable<string> DockerfilePaths() =>
        Repo.SourceFiles("services", "Dockerfile").Concat(Repo.SourceFiles("gateway", "Dockerfile")).Select(Repo.Relative).Order();

    public static TheoryData<string> Dockerfiles() => new(DockerfilePaths());

    [Fact]
    public void Dockerfiles_OneForEveryMeshService_Exist()
    {
        var files = DockerfilePaths().ToHashSet();
        foreach (var mesh in MeshScript.Load())
        {
            Assert.Contains($"{mesh.ProjectDir}/Dockerfile", files);
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Stages_BuildThenRuntime_FinalStageCopiesOnlyTheBuildOutput(string path)
    {
        var file = DockerfileModel.Load(path);
        Assert.True(file.Stages.Count >= 2, $"{path} is not multi-stage.");
        Assert.Contains("dotnet/sdk", file.Stages[0][0].Args);
        var final = file.Stages[^1];
        Assert.Contains("dotnet/aspnet", final[0].Args);
        Assert.Contains(final, i => i.Keyword == "COPY" && i.Args.StartsWith("--from=", StringComparison.Ordinal));
        Assert.DoesNotContain(final, i => i.Keyword == "COPY" && i.Args.StartsWith(". ", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void User_FinalStage_RunsAsNonRoot(string path)
    {
        var final = DockerfileModel.Load(path).Stages[^1];
        var users = final.Where(i => i.Keyword == "USER").ToList();
        Assert.NotEmpty(users);
        var user = users[^1].Args.Split(':')[0];
        Assert.NotEqual("root", user);
        Assert.NotEqual("0", user);
        // Nothing after USER needs root.
        var afterUser = final.SkipWhile(i => i.Keyword != "USER").Skip(1);
        Assert.DoesNotContain(afterUser, i => i.Keyword == "RUN");
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Environment_EveryDoubleUnderscoreVariable_IsASettingTheProjectBinds(string path)
    {
        var file = DockerfileModel.Load(path);
        var catalog = SettingsCatalog.ForProject(file.PublishedProject!);
        foreach (var name in file.FinalEnvironment.Keys.Where(k => k.Contains("__")))
        {
            Assert.True(catalog.Binds(name.Replace("__", ":")), $"{path}: ENV {name} is not a setting {file.PublishedProject} binds.");
        }
        Assert.Equal("0.0.0.0", file.FinalEnvironment["Mesh__BindAddress"]);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public async Task HealthCheck_Command_PassesOn200AndFailsOn503OrNoListener(string path)
    {
        var check = HealthCommand(path);
        Assert.Equal(0, await RunCheck(check, "200 OK"));
        Assert.NotEqual(0, await RunCheck(check, "503 Service Unavailable"));
        Assert.NotEqual(0, await RunCheck(check, status: null));
    }

    /// <summary>The HEALTHCHECK's exec-form command of the final stage.</summary>
    private static string[] HealthCommand(string path)
    {
        var health = DockerfileModel.Load(path).Stages[^1].Where(i => i.Keyword == "HEALTHCHECK").ToList();
        Assert.True(health.Count == 1, $"{path} needs exactly one HEALTHCHECK in its final stage.");
        var cmd = health[0].Args.IndexOf("CMD [", StringComparison.Ordinal);
        Assert.True(cmd >= 0, $"{path}: the HEALTHCHECK should use the exec form CMD [...].");
        var argv = JsonSerializer.Deserialize<string[]>(health[0].Args[(cmd + 4)..])!;
        Assert.Equal("bash", argv[0]);
        return argv;
    }

    /// <summary>
    /// Runs the check with bash as the container would, against a one-shot HTTP/1.1 listener on loopback that
    /// answers <paramref name="status"/> to GET /healthz (or nothing listening when null); returns the exit code.
    /// </summary>
    private static async Task<int> RunCheck(string[] argv, string? status)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task? server = null;
        if (status is null)
        {
            listener.Stop();
        }
        else
        {
            server = Task.Run(async () =>
            {
                using var client = await listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                var request = new StringBuilder();
                var buffer = new byte[1024];
                while (!request.ToString().Contains("\r\n\r\n"))
                {
                    var n = await stream.ReadAsync(buffer);
                    if (n == 0) break;
                    request.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }
                Assert.StartsWith("GET /healthz HTTP/1.1\r\n", request.ToString());
                var body = status.StartsWith("200", StringComparison.Ordinal) ? "Healthy" : "Unhealthy";
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
            });
        }
        var start = new ProcessStartInfo(argv[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in argv.Skip(1)) start.ArgumentList.Add(a);
        start.Environment["Mesh__MetricsPort"] = port.ToString();
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        if (server is not null) await server;
        return process.ExitCode;
    }
}
