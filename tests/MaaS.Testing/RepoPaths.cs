namespace MaaS.Testing;

/// <summary>Paths in the checkout: its root and the built dlls of its projects.</summary>
public static class RepoPaths
{
    /// <summary>The folder holding MaaS.Mesh.sln at or above <paramref name="start"/>; null when there is none.</summary>
    public static string? FindRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MaaS.Mesh.sln"))) return dir.FullName;
        }
        return null;
    }

    /// <summary>The checkout root above the running binaries (a test assembly's bin folder).</summary>
    public static string AboveBinaries() =>
        FindRoot(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException($"No MaaS.Mesh.sln above {AppContext.BaseDirectory}: the tests need the repository's scripts and builds.");

    /// <summary>
    /// <c>{assembly}.dll</c> of the net10.0 build of <paramref name="projectDirectory"/> (relative to <paramref name="root"/>)
    /// in <paramref name="configuration"/>, under any runtime folder; null when it is not built.
    /// </summary>
    public static string? BuiltDll(string root, string projectDirectory, string assembly, string configuration)
    {
        var bin = BinDirectory(root, projectDirectory, configuration);
        return Directory.Exists(bin)
            ? Directory.EnumerateFiles(bin, assembly + ".dll", SearchOption.AllDirectories).FirstOrDefault(p => p.Contains("net10.0", StringComparison.Ordinal))
            : null;
    }

    /// <summary>Build configuration of the running test assembly; services are taken from the same one.</summary>
    public static string CurrentConfiguration =>
        AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The project's <c>bin/{configuration}</c> folder.</summary>
    public static string BinDirectory(string root, string projectDirectory, string configuration) =>
        Path.Combine(root, projectDirectory, "bin", configuration);
}
