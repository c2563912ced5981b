namespace MaaS.Testing;

/// <summary>The options every benchmark tool has; each tool's own class adds its scenarios' settings.</summary>
/// <param name="project">The tool's project folder (e.g. tests/MaaS.Benchmarks), for <see cref="Command"/>.</param>
public abstract class ToolOptions(string project)
{
    /// <summary>Where the markdown goes besides stdout; null = stdout only.</summary>
    public string? Out { get; private set; }

    /// <summary>First of the tool's range of loopback ports; 0 = ports the OS hands out.</summary>
    public int PortBase { get; protected set; }

    /// <summary>Skip `dotnet build -c Release` of the services the tool starts.</summary>
    public bool NoBuild { get; private set; }

    /// <summary>Keep the work folder (data, logs) after a successful run.</summary>
    public bool Keep { get; private set; }

    /// <summary>Repository root (found from the working directory upwards).</summary>
    public string RepoRoot { get; private set; } = "";

    /// <summary>The arguments as given, for the report's exact command.</summary>
    public IReadOnlyList<string> Raw { get; private set; } = [];

    /// <summary>The command that reproduces this run.</summary>
    public string Command => OptionValues.Command(project, Raw);

    /// <summary>
    /// Reads <paramref name="args"/>: --out, --no-build, --keep (when <paramref name="hasKeep"/>) and -h here, every other
    /// flag through <paramref name="own"/> (false: unknown); then finds the repository root.
    /// </summary>
    /// <param name="args">The command line.</param>
    /// <param name="hasKeep">Whether the tool has a work folder to keep.</param>
    /// <param name="own">The tool's flags: given the flag and a reader of its value.</param>
    protected void Read(string[] args, bool hasKeep, Func<string, Func<string>, bool> own)
    {
        Raw = args;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            switch (name)
            {
                case "--out": Out = Value(); break;
                case "--no-build": NoBuild = true; break;
                case "--keep" when hasKeep: Keep = true; break;
                case "-h" or "--help": throw new ArgumentException("");
                default:
                    if (!own(name, Value)) throw new ArgumentException($"Unknown option '{name}'.");
                    break;
            }
        }
        RepoRoot = OptionValues.RepoRoot();
    }
}
