using MaaS.Testing;

namespace MaaS.EndToEnd.Tests;

/// <summary>Runs the repo's shell scripts (infra/walkthrough.sh) against the test's mesh, as a user would with its address and key.</summary>
public static class ScriptRuns
{
    /// <summary>
    /// Runs <c>bash {script}</c> from the checkout root with MAAS_ADDRESS, MAAS_REST_ADDRESS and MAAS_API_KEY of this mesh and
    /// MAAS_CLI_DLL set to the CLI of this test build's configuration (the services run from the same one); returns exit
    /// code and stdout followed by stderr. <paramref name="extra"/> adds (or overrides) variables.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunScriptAsync(this MeshProcesses mesh, string script, TimeSpan timeout,
        params (string Name, string Value)[] extra)
    {
        var cli = RepoPaths.BuiltDll(mesh.Root, "services/MaaS.Cli", "maas", MeshProcesses.Configuration)
            ?? throw new FileNotFoundException(
                $"maas.dll is not built under {RepoPaths.BinDirectory(mesh.Root, "services/MaaS.Cli", MeshProcesses.Configuration)}; build the solution in {MeshProcesses.Configuration} first.");
        var environment = new Dictionary<string, string>
        {
            ["MAAS_ADDRESS"] = mesh.GatewayGrpc.ToString(),
            ["MAAS_REST_ADDRESS"] = mesh.GatewayRest.ToString(),
            ["MAAS_API_KEY"] = mesh.AdminKey,
            ["MAAS_CLI_DLL"] = cli,
        };
        foreach (var (name, value) in extra) environment[name] = value;
        var (exit, stdout, stderr, _) = await ProcessRun.RunAsync("bash", mesh.Root, timeout, [Path.Combine(mesh.Root, script)], environment);
        return (exit, stdout + stderr);
    }
}
