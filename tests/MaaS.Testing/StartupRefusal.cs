namespace MaaS.Testing;

/// <summary>
/// A service run as its own process with settings it must refuse, to check what an operator sees: the process ends
/// at start with a non-zero exit code and says why. An in-process host cannot check this reliably: when the
/// application's start fails it disposes its services while the test host may still be reading them, and the test
/// then sees that <see cref="ObjectDisposedException"/> instead of the reason.
/// </summary>
public static class StartupRefusal
{
    /// <summary>
    /// Starts <c>{projectDirectory}/bin/{configuration}/…/{assembly}.dll</c> (relative to the checkout root) with an
    /// in-memory bus, free loopback ports, a fresh data folder and <paramref name="settings"/>; returns everything it
    /// printed once it has exited with code 1 and its "did not start" line. Throws <see cref="HarnessException"/> when
    /// it exits otherwise or keeps running.
    /// </summary>
    public static async Task<string> RunAsync(string projectDirectory, IReadOnlyDictionary<string, string> settings, TimeSpan? timeout = null)
    {
        var root = RepoPaths.AboveBinaries();
        var assembly = Path.GetFileName(projectDirectory);
        var dll = RepoPaths.BuiltDll(root, projectDirectory, assembly, RepoPaths.CurrentConfiguration)
            ?? throw new HarnessException($"{assembly}.dll is not built under {RepoPaths.BinDirectory(root, projectDirectory, RepoPaths.CurrentConfiguration)}.");
        var ports = FreePorts.Distinct(2);
        var data = Directory.CreateTempSubdirectory("maas-refusal-").FullName;
        try
        {
            string[] args =
            [
                dll,
                "--Bus:Transport=InMemory",
                $"--Mesh:GrpcPort={ports[0]}",
                $"--Mesh:HttpPort={ports[1]}",
                $"--Mesh:DataDirectory={data}",
                .. settings.Select(s => $"--{s.Key}={s.Value}"),
            ];
            var production = new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["DOTNET_ENVIRONMENT"] = "Production" };
            var result = await ProcessRun.RunAsync("dotnet", Path.GetDirectoryName(dll)!, timeout ?? TimeSpan.FromSeconds(60), args, production)
                .ConfigureAwait(false);
            var output = result.Stdout + result.Stderr;
            if (result.TimedOut || result.ExitCode == 0)
            {
                throw new HarnessException($"{assembly} was expected to refuse to start, but it {(result.TimedOut ? "kept running" : "exited 0")}: {output}");
            }
            // What an operator reads last: one line with the reason (MeshRunExtensions.RunMesh), exit code 1, no crash dump.
            var reason = result.Stderr.Split('\n').LastOrDefault(l => l.StartsWith($"{assembly} did not start: ", StringComparison.Ordinal));
            if (result.ExitCode != 1 || reason is null)
            {
                throw new HarnessException($"{assembly} refused to start with exit code {result.ExitCode} and without the line '{assembly} did not start: …': {output}");
            }
            return output;
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
