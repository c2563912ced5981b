using System.Text.RegularExpressions;

namespace MaaS.Deployment.Tests.Support;

/// <summary>A Dockerfile as instructions (continuation lines joined, comments dropped), split into stages.</summary>
public sealed partial class DockerfileModel
{
    private DockerfileModel(string path, List<(string Keyword, string Args)> instructions)
    {
        Path = path;
        Instructions = instructions;
    }

    /// <summary>The file, relative to the root.</summary>
    public string Path { get; }

    /// <summary>Every instruction in order, keyword upper-cased.</summary>
    public List<(string Keyword, string Args)> Instructions { get; }

    /// <summary>The stages: each FROM and the instructions up to the next.</summary>
    public List<List<(string Keyword, string Args)>> Stages
    {
        get
        {
            var stages = new List<List<(string, string)>>();
            foreach (var i in Instructions)
            {
                if (i.Keyword == "FROM") stages.Add([]);
                if (stages.Count > 0) stages[^1].Add(i);
            }
            return stages;
        }
    }

    /// <summary>The project `dotnet publish` builds, relative to the root.</summary>
    public string? PublishedProject => Instructions.Where(i => i.Keyword == "RUN")
        .Select(i => PublishCommand().Match(i.Args)).Where(m => m.Success).Select(m => m.Groups[1].Value).FirstOrDefault();

    /// <summary>ENV settings of the final stage (KEY=value pairs; the legacy "ENV KEY value" form too).</summary>
    public Dictionary<string, string> FinalEnvironment
    {
        get
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (_, args) in Stages[^1].Where(i => i.Keyword == "ENV"))
            {
                var pairs = EnvPair().Matches(args);
                if (pairs.Count == 0)
                {
                    var parts = args.Split(' ', 2);
                    env[parts[0]] = parts.Length > 1 ? parts[1].Trim() : "";
                }
                foreach (Match m in pairs) env[m.Groups[1].Value] = m.Groups[2].Value.Trim('"');
            }
            return env;
        }
    }

    /// <summary>Reads a Dockerfile given relative to the root.</summary>
    public static DockerfileModel Load(string path)
    {
        var logical = new List<string>();
        var current = "";
        foreach (var raw in Repo.Read(path).Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (current.Length == 0 && line.TrimStart().StartsWith('#')) continue;
            if (current.Length > 0 && line.TrimStart().StartsWith('#')) continue;
            if (line.EndsWith('\\'))
            {
                current += line[..^1] + " ";
                continue;
            }
            current += line;
            if (current.Trim().Length > 0) logical.Add(current.Trim());
            current = "";
        }
        var instructions = logical.Select(l => l.Split(' ', 2)).Select(p => (p[0].ToUpperInvariant(), p.Length > 1 ? p[1].Trim() : "")).ToList();
        return new DockerfileModel(path, instructions);
    }

    [GeneratedRegex(@"dotnet\s+publish\s+(\S+\.csproj)")]
    private static partial Regex PublishCommand();

    [GeneratedRegex(@"([A-Za-z_][A-Za-z0-9_]*)=(""[^""]*""|\S*)")]
    private static partial Regex EnvPair();
}
