using System.Text.RegularExpressions;

namespace MaaS.ServiceDefaults;

/// <summary>
/// The one rule for names every service takes from callers (models, aliases, datasets, tags): safe as a
/// URL segment and a folder name, so the registry, trainer and updater accept exactly the same names.
/// </summary>
public static partial class MeshNames
{
    /// <summary>Pattern of a name; '..' is refused separately.</summary>
    public const string Pattern = "^[a-z0-9][a-z0-9._-]{0,62}$";

    /// <summary>Longest name.</summary>
    public const int MaxLength = 63;

    /// <summary>The rule in words, for error sentences.</summary>
    public const string Rule = "1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'";

    /// <summary>Whether <paramref name="value"/> is a valid name.</summary>
    public static bool IsValid(string value) => NameRegex().IsMatch(value) && !value.Contains("..", StringComparison.Ordinal);

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();
}
