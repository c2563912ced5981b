using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using MaaS.Registry.V1;
using MaaS.Testing;

namespace MaaS.EndToEnd.Tests;

/// <summary>What one run of a client in another language printed: its exit code, its JSON lines and its stderr.</summary>
/// <param name="ExitCode">Exit code.</param>
/// <param name="Lines">One object per JSON line of stdout, each with an "event" field.</param>
/// <param name="Stderr">Standard error (the reason of a failure).</param>
public sealed record ClientRun(int ExitCode, IReadOnlyList<JsonNode> Lines, string Stderr)
{
    /// <summary>Every line of one event, in order.</summary>
    public IReadOnlyList<JsonNode> Events(string name) => Lines.Where(l => l["event"]?.GetValue<string>() == name).ToList();

    /// <summary>The whole output, for failure messages.</summary>
    public override string ToString() => $"exit {ExitCode}\n{string.Join('\n', Lines.Select(l => l.ToJsonString()))}\n{Stderr}";
}

/// <summary>
/// Runs the clients of tests/clients (Python: maas_client.py with Debian's grpcio; Node.js: tests/clients/node with
/// @grpc/grpc-js) against the mesh's gateway with its admin key, and uploads the datasets they train on.
/// </summary>
public static class ClientRuns
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(150);

    /// <summary>Uploads <paramref name="rows"/> (x, y) as CSV dataset <paramref name="name"/> through the gateway.</summary>
    public static async Task<DatasetVersion> UploadLineDatasetAsync(this MeshProcesses mesh, string name, IEnumerable<(double X, double Y)> rows)
    {
        var csv = new StringBuilder("x,y\n");
        foreach (var (x, y) in rows) csv.Append(CultureInfo.InvariantCulture, $"{x:R},{y:R}\n");
        using var channel = mesh.OpenGatewayChannel();
        var registry = new RegistryService.RegistryServiceClient(mesh.WithAdminKey(channel));
        using var call = registry.UploadDataset();
        await call.RequestStream.WriteAsync(new UploadDatasetRequest { Manifest = new DatasetManifest { Name = name, Format = "csv" } });
        await call.RequestStream.WriteAsync(new UploadDatasetRequest { Chunk = ByteString.CopyFromUtf8(csv.ToString()) });
        await call.RequestStream.CompleteAsync();
        return (await call).Dataset;
    }

    /// <summary>Runs tests/clients/python/maas_client.py: train <paramref name="model"/> on <paramref name="dataset"/>, watch, list, infer <paramref name="xs"/>.</summary>
    public static Task<ClientRun> RunPythonMaasClientAsync(this MeshProcesses mesh, string model, string dataset, double[] xs) =>
        RunAsync(mesh, "/usr/bin/python3", [Path.Combine(mesh.Root, "tests", "clients", "python", "maas_client.py"), .. ClientArgs(mesh, model, dataset, xs)]);

    /// <summary>Runs tests/clients/node/maas_client.js (installing its pinned packages first when missing) with the same arguments.</summary>
    public static async Task<ClientRun> RunNodeMaasClientAsync(this MeshProcesses mesh, string model, string dataset, double[] xs)
    {
        var folder = Path.Combine(mesh.Root, "tests", "clients", "node");
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "@grpc", "grpc-js")))
        {
            // infra/setup.sh installs them; this covers a checkout where it has not run since the client was added.
            var install = await ProcessRun.RunAsync("npm", folder, TimeSpan.FromMinutes(3), ["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
            if (install.ExitCode != 0) throw new InvalidOperationException($"npm ci in {folder} failed: {install.Stderr}");
        }
        return await RunAsync(mesh, "node", [Path.Combine(folder, "maas_client.js"), .. ClientArgs(mesh, model, dataset, xs)]);
    }

    private static string[] ClientArgs(MeshProcesses mesh, string model, string dataset, double[] xs) =>
    [
        "--address", $"{mesh.GatewayGrpc.Host}:{mesh.GatewayGrpc.Port}", "--model", model, "--dataset", dataset,
        "--features", "x", "--label", "y", "--epochs", "300", "--learning-rate", "0.1", "--timeout", "120",
        .. xs.Select(x => x.ToString(CultureInfo.InvariantCulture)),
    ];

    private static async Task<ClientRun> RunAsync(MeshProcesses mesh, string file, string[] args)
    {
        var result = await ProcessRun.RunAsync(file, mesh.Root, RunTimeout, args, new Dictionary<string, string> { ["MAAS_API_KEY"] = mesh.AdminKey });
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith('{'))
            .Select(l => JsonNode.Parse(l)!)
            .ToList();
        return new ClientRun(result.ExitCode, lines, result.Stderr);
    }
}
