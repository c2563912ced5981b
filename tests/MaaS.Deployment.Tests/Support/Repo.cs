namespace MaaS.Deployment.Tests.Support;

/// <summary>The repository the tests run in, found from the test binaries upwards (the folder with MaaS.Mesh.sln).</summary>
public static class Repo
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MaaS.Mesh.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No MaaS.Mesh.sln above {AppContext.BaseDirectory}.");
    });

    /// <summary>The repository root.</summary>
    public static string Root => RootPath.Value;

    /// <summary>An absolute path from a path relative to the root (forward slashes).</summary>
    public static string PathOf(string relative) => Path.GetFullPath(Path.Combine(Root, relative));

    /// <summary>The text of a file given relative to the root.</summary>
    public static string Read(string relative) => File.ReadAllText(PathOf(relative));

    /// <summary>The path relative to the root, with forward slashes.</summary>
    public static string Relative(string absolute) => Path.GetRelativePath(Root, absolute).Replace('\\', '/');

    /// <summary>Source files under a folder, build outputs left out.</summary>
    public static IEnumerable<string> SourceFiles(string relativeDir, string pattern) =>
        Directory.EnumerateFiles(PathOf(relativeDir), pattern, SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")
                        && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));
}
