using System.Diagnostics;

namespace MaaS.Registry.Tests.Stores;

/// <summary>Runs one of the repository's infra scripts (infra/postgres.sh, infra/s3.sh) with its settings in the environment.</summary>
internal static class InfraScript
{
    /// <summary>The repository root, found from the test binaries upwards.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Runs <c>infra/{script} {verb}</c>; throws with the script's output when it fails.</summary>
    public static void Run(string script, string verb, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot,
        };
        info.ArgumentList.Add(Path.Combine(RepoRoot, "infra", script));
        info.ArgumentList.Add(verb);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"infra/{script} could not be started.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"infra/{script} {verb} did not finish within {timeout.TotalSeconds:0} s.");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"infra/{script} {verb} failed (exit {process.ExitCode}): {stdout.Result}{stderr.Result}");
        }
    }

    /// <summary>A free TCP port on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// A new folder under the temporary folder that other users may enter: the PostgreSQL server runs as
    /// the postgres user when the tests run as root (Directory.CreateTempSubdirectory makes 0700 folders).
    /// </summary>
    public static string OpenTempFolder(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path,
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        return path;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MaaS.Mesh.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"No MaaS.Mesh.sln above {AppContext.BaseDirectory}: the tests need the repository's infra scripts.");
    }
}
