using System.Text;
using System.Text.RegularExpressions;

namespace MaaS.Deployment.Tests.Support;

/// <summary>
/// The configuration keys a service reads, found by scanning the C# sources of its project and the projects
/// it references (no service is built or loaded): every options class with a <c>const string Section</c> that
/// some <c>BindConfiguration(X.Section)</c> or <c>GetSection(X.Section)</c> binds gives Section:Property for
/// each public settable property, nested option classes and lists included (a list index or dictionary key
/// is any one segment); keys read directly (<c>Configuration["A:B"]</c>, <c>GetSection($"{Section}:Sub")</c>)
/// are added as they are, a subsection with everything under it.
/// </summary>
public sealed partial class SettingsCatalog
{
    private readonly List<string[]> patterns = [];

    private SettingsCatalog() { }

    /// <summary>The patterns, ':'-separated ('*' = one segment, '**' = one or more).</summary>
    public IEnumerable<string> Patterns => patterns.Select(p => string.Join(':', p));

    /// <summary>The projects scanned (relative csproj paths).</summary>
    public IReadOnlyList<string> Projects { get; private set; } = [];

    /// <summary>Whether configuration key <paramref name="key"/> (':'-separated) is read by the code.</summary>
    public bool Binds(string key)
    {
        var segments = key.Split(':');
        return patterns.Any(p => Matches(p, segments));
    }

    /// <summary>The catalog of a project (relative path of its .csproj) and every project it references.</summary>
    public static SettingsCatalog ForProject(string csproj)
    {
        var projects = ProjectClosure(csproj);
        var sources = projects.SelectMany(p => Repo.SourceFiles(Path.GetDirectoryName(p)!, "*.cs"))
            .Distinct().Select(f => new SourceFile(File.ReadAllText(f))).ToList();
        var catalog = new SettingsCatalog { Projects = projects };
        catalog.Build(sources);
        return catalog;
    }

    /// <summary>A project and, recursively, its ProjectReferences (relative .csproj paths).</summary>
    public static List<string> ProjectClosure(string csproj)
    {
        var seen = new List<string>();
        var pending = new Stack<string>([Repo.Relative(Repo.PathOf(csproj))]);
        while (pending.Count > 0)
        {
            var project = pending.Pop();
            if (seen.Contains(project)) continue;
            if (!File.Exists(Repo.PathOf(project)))
            {
                throw new FileNotFoundException($"Project {project} does not exist.");
            }
            seen.Add(project);
            var dir = Path.GetDirectoryName(Repo.PathOf(project))!;
            foreach (Match m in ProjectReference().Matches(Repo.Read(project)))
            {
                pending.Push(Repo.Relative(Path.GetFullPath(Path.Combine(dir, m.Groups[1].Value.Replace('\\', '/')))));
            }
        }
        return seen;
    }

    private void Build(List<SourceFile> sources)
    {
        var classes = new Dictionary<string, List<(string Type, string Name)>>(StringComparer.Ordinal);
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        var bound = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in sources)
        {
            foreach (var cls in file.Classes)
            {
                if (!classes.TryGetValue(cls.Name, out var props)) classes[cls.Name] = props = [];
                props.AddRange(file.PropertiesOf(cls));
            }
            foreach (Match m in SectionConst().Matches(file.Text))
            {
                if (file.ClassAt(m.Index) is { } owner) sections[owner.Name] = m.Groups[1].Value;
            }
            foreach (Match m in BindCall().Matches(file.Code))
            {
                bound.Add(m.Groups[1].Value);
            }
            foreach (Match m in DirectKey().Matches(file.Text))
            {
                patterns.Add(m.Groups[1].Value.Split(':'));
            }
            foreach (Match m in SubsectionRead().Matches(file.Text))
            {
                var owner = m.Groups[1].Success ? m.Groups[1].Value : file.ClassAt(m.Index)?.Name;
                if (owner is not null) bound.Add(owner);
                // Resolved below, once every Section constant is known.
                pendingSubsections.Add((owner ?? "", m.Groups[2].Value));
            }
        }
        foreach (var (owner, sub) in pendingSubsections)
        {
            if (sections.TryGetValue(owner, out var section))
            {
                patterns.Add([.. section.Split(':'), .. sub.Split(':'), "**"]);
            }
        }
        foreach (var name in bound)
        {
            if (sections.TryGetValue(name, out var section) && classes.ContainsKey(name))
            {
                AddClass(classes, name, section.Split(':'), depth: 0);
            }
        }
    }

    private readonly List<(string Owner, string Sub)> pendingSubsections = [];

    private void AddClass(Dictionary<string, List<(string Type, string Name)>> classes, string name, string[] prefix, int depth)
    {
        if (depth > 6) return;
        foreach (var (type, prop) in classes[name])
        {
            var key = prefix.Append(prop).ToArray();
            var element = ElementType(type, out var isCollection);
            if (isCollection)
            {
                key = [.. key, "*"];
            }
            if (classes.ContainsKey(element) && classes[element].Count > 0)
            {
                AddClass(classes, element, key, depth + 1);
            }
            else
            {
                patterns.Add(key);
            }
        }
    }

    private static string ElementType(string type, out bool isCollection)
    {
        type = type.Replace(" ", "").TrimEnd('?');
        isCollection = false;
        if (type.EndsWith("[]", StringComparison.Ordinal))
        {
            isCollection = true;
            return type[..^2];
        }
        var generic = GenericType().Match(type);
        if (generic.Success)
        {
            isCollection = true;
            var args = generic.Groups[2].Value.Split(',');
            return args[^1].TrimEnd('?');
        }
        return type;
    }

    private static bool Matches(string[] pattern, string[] key)
    {
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == "**") return key.Length > i;
            if (i >= key.Length) return false;
            if (pattern[i] != "*" && !string.Equals(pattern[i], key[i], StringComparison.OrdinalIgnoreCase)) return false;
        }
        return key.Length == pattern.Length;
    }

    [GeneratedRegex(@"<ProjectReference\s+Include=""([^""]+)""")]
    private static partial Regex ProjectReference();

    [GeneratedRegex(@"const\s+string\s+Section\s*=\s*""([^""]+)""")]
    private static partial Regex SectionConst();

    [GeneratedRegex(@"(?:BindConfiguration|GetSection)\(\s*(\w+)\.Section\s*\)")]
    private static partial Regex BindCall();

    [GeneratedRegex("""[Cc]onfiguration\[\s*"([A-Za-z0-9_:]+)"\s*\]""")]
    private static partial Regex DirectKey();

    [GeneratedRegex("""GetSection\(\s*\$"\{(?:(\w+)\.)?Section\}:([A-Za-z0-9_:]+)"\s*\)""")]
    private static partial Regex SubsectionRead();

    [GeneratedRegex(@"^(List|IList|IReadOnlyList|ICollection|IEnumerable|Dictionary|IDictionary|IReadOnlyDictionary)<(.+)>$")]
    private static partial Regex GenericType();

    /// <summary>One C# file: its text, the same text with comments and literals blanked, and its classes.</summary>
    private sealed partial class SourceFile
    {
        public SourceFile(string text)
        {
            Text = text;
            Code = Blank(text);
            foreach (Match m in ClassDecl().Matches(Code))
            {
                var open = Code.IndexOfAny(['{', ';'], m.Index + m.Length);
                if (open < 0 || Code[open] == ';') continue;
                Classes.Add(new ClassSpan(m.Groups[1].Value, open, MatchingBrace(open)));
            }
        }

        public string Text { get; }

        public string Code { get; }

        public List<ClassSpan> Classes { get; } = [];

        public ClassSpan? ClassAt(int index) => Classes.Where(c => c.Start < index && index < c.End)
            .OrderBy(c => c.End - c.Start).FirstOrDefault();

        public IEnumerable<(string Type, string Name)> PropertiesOf(ClassSpan cls)
        {
            foreach (Match m in SettableProperty().Matches(Code, cls.Start))
            {
                if (m.Index > cls.End) break;
                if (ClassAt(m.Index) == cls) yield return (m.Groups[1].Value, m.Groups[2].Value);
            }
        }

        private int MatchingBrace(int open)
        {
            var depth = 0;
            for (var i = open; i < Code.Length; i++)
            {
                if (Code[i] == '{') depth++;
                else if (Code[i] == '}' && --depth == 0) return i;
            }
            return Code.Length;
        }

        /// <summary>Comments and string/char literals replaced by spaces (same length, so positions agree).</summary>
        private static string Blank(string s)
        {
            var sb = new StringBuilder(s);
            var i = 0;
            while (i < s.Length)
            {
                if (s[i] == '/' && i + 1 < s.Length && s[i + 1] == '/')
                {
                    while (i < s.Length && s[i] != '\n') sb[i++] = ' ';
                }
                else if (s[i] == '/' && i + 1 < s.Length && s[i + 1] == '*')
                {
                    var end = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                    end = end < 0 ? s.Length : end + 2;
                    for (; i < end; i++) if (s[i] != '\n') sb[i] = ' ';
                }
                else if (s[i] == '"' && i + 2 < s.Length && s[i + 1] == '"' && s[i + 2] == '"')
                {
                    var quotes = 0;
                    while (i + quotes < s.Length && s[i + quotes] == '"') quotes++;
                    var close = s.IndexOf(new string('"', quotes), i + quotes, StringComparison.Ordinal);
                    var end = close < 0 ? s.Length : close + quotes;
                    for (; i < end; i++) if (s[i] != '\n') sb[i] = ' ';
                }
                else if (s[i] == '"' || s[i] == '\'')
                {
                    var quote = s[i];
                    var verbatim = i > 0 && (s[i - 1] == '@' || (i > 1 && s[i - 1] == '$' && s[i - 2] == '@'));
                    sb[i++] = ' ';
                    while (i < s.Length)
                    {
                        if (!verbatim && s[i] == '\\') { sb[i++] = ' '; if (i < s.Length) sb[i++] = ' '; continue; }
                        if (s[i] == quote)
                        {
                            if (verbatim && i + 1 < s.Length && s[i + 1] == quote) { sb[i++] = ' '; sb[i++] = ' '; continue; }
                            sb[i++] = ' ';
                            break;
                        }
                        if (s[i] != '\n') sb[i] = ' ';
                        i++;
                    }
                }
                else
                {
                    i++;
                }
            }
            return sb.ToString();
        }

        [GeneratedRegex(@"\b(?:class|record|struct)\s+(\w+)")]
        private static partial Regex ClassDecl();

        [GeneratedRegex(@"\bpublic\s+(?:required\s+)?([^\s(){};=][^(){};=\n]*?)\s+(\w+)\s*\{\s*get;\s*set;")]
        private static partial Regex SettableProperty();
    }

    private sealed record ClassSpan(string Name, int Start, int End);
}
