using System.Text.RegularExpressions;

namespace MaaS.Deployment.Tests.Support;

/// <summary>One process of the local mesh as infra/mesh.sh starts it.</summary>
public sealed record MeshService(string Name, string ProjectDir, int GrpcPort, int HttpPort, int MetricsPort, IReadOnlyDictionary<string, string> Args)
{
    /// <summary>The ports the service listens on (0 = none left out).</summary>
    public IEnumerable<int> Ports => new[] { GrpcPort, HttpPort, MetricsPort }.Where(p => p > 0);

    /// <summary>The project file, relative to the root.</summary>
    public string Csproj => $"{ProjectDir}/{Path.GetFileName(ProjectDir)}.csproj";
}

/// <summary>infra/mesh.sh read as data: its service table and the settings it passes each process.</summary>
public static partial class MeshScript
{
    /// <summary>Every service of the table, with the --Key=Value settings of common_args and its extra_args.</summary>
    public static List<MeshService> Load()
    {
        var text = Repo.Read("infra/mesh.sh");
        var table = Regex.Match(text, @"services=\((.*?)\n\)", RegexOptions.Singleline);
        Assert.True(table.Success, "infra/mesh.sh has no services=( ... ) table.");
        var common = Settings(Function(text, "common_args"));
        var extra = Function(text, "extra_args");
        var result = new List<MeshService>();
        foreach (Match row in Regex.Matches(table.Groups[1].Value, "\"([^\"]+)\""))
        {
            var f = row.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var args = new Dictionary<string, string>(common, StringComparer.OrdinalIgnoreCase);
            var own = Regex.Match(extra, $@"^\s*{Regex.Escape(f[0])}\)\s*echo\s+""([^""]*)""", RegexOptions.Multiline);
            if (own.Success)
            {
                foreach (var (k, v) in Settings(own.Groups[1].Value)) args[k] = v;
            }
            result.Add(new MeshService(f[0], f[1], int.Parse(f[2]), int.Parse(f[3]), int.Parse(f[4]), args));
        }
        return result;
    }

    private static string Function(string text, string name)
    {
        var m = Regex.Match(text, $@"^{name}\(\)\s*\{{(.*?)^\}}", RegexOptions.Singleline | RegexOptions.Multiline);
        Assert.True(m.Success, $"infra/mesh.sh has no function {name}.");
        return m.Groups[1].Value;
    }

    private static Dictionary<string, string> Settings(string text) =>
        SettingArg().Matches(text).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.OrdinalIgnoreCase);

    [GeneratedRegex(@"--([A-Za-z][A-Za-z0-9:]*)=(\S+?)(?=[\s""]|$)")]
    private static partial Regex SettingArg();
}
