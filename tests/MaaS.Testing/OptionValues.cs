using System.Globalization;

namespace MaaS.Testing;

/// <summary>Checked values of a benchmark tool's command line: a bad one is an <see cref="ArgumentException"/> with a sentence.</summary>
public static class OptionValues
{
    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static int Int(string name, string text, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            throw new ArgumentException($"{name} must be a whole number from {min} to {max}; it is '{text}'.");
        }
        return v;
    }

    /// <summary>A number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static double Number(string name, string text, double min, double max)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            throw new ArgumentException($"{name} must be a number from {min} to {max}; it is '{text}'.");
        }
        return v;
    }

    /// <summary>A comma-separated subset of <paramref name="known"/> (case-insensitive), returned in <paramref name="known"/>'s order.</summary>
    /// <param name="name">The option, for the message.</param>
    /// <param name="text">The value given.</param>
    /// <param name="known">Every accepted name.</param>
    /// <param name="noun">What the names are called in the message ("names", "letters").</param>
    public static IReadOnlyList<string> Names(string name, string text, string[] known, string noun = "names")
    {
        var list = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => s.ToLowerInvariant()).ToList();
        var unknown = list.Where(s => !known.Contains(s)).ToList();
        if (list.Count == 0 || unknown.Count > 0)
        {
            throw new ArgumentException($"{name} takes {noun} among {string.Join(",", known)}; '{string.Join(",", unknown)}' is not one.");
        }
        return known.Where(list.Contains).ToList();
    }

    /// <summary>The checkout root above the working directory; the tools run from inside the repository.</summary>
    public static string RepoRoot() =>
        RepoPaths.FindRoot(Directory.GetCurrentDirectory())
        ?? throw new ArgumentException("Run the tool from inside the MaaS.Mesh repository (no MaaS.Mesh.sln found above the working directory).");

    /// <summary>The command that reproduces a run of the tool in <paramref name="project"/> (e.g. tests/MaaS.Benchmarks).</summary>
    public static string Command(string project, IReadOnlyList<string> raw) =>
        $"dotnet run -c Release --project {project}" + (raw.Count > 0 ? " -- " + string.Join(' ', raw) : "");
}
