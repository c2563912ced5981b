using System.Globalization;

namespace MaaS.Testing;

/// <summary>The steps every benchmark tool's entry point takes around its scenarios.</summary>
public static class ToolRun
{
    /// <summary>
    /// Parses the command line with <paramref name="parse"/>; on a bad argument writes its sentence and
    /// <paramref name="usage"/> to stderr and returns false (the tool then exits with 2).
    /// </summary>
    public static bool TryParse<T>(Func<T> parse, string usage, out T options) where T : class
    {
        try
        {
            options = parse();
            return true;
        }
        catch (ArgumentException ex)
        {
            if (ex.Message.Length > 0) Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(usage);
            options = null!;
            return false;
        }
    }

    /// <summary>Creates <c>{temp}/{prefix}{UTC time}-{pid}</c> for the run's data and logs and says where it is.</summary>
    public static string CreateWorkFolder(string prefix, TextWriter progress)
    {
        var work = Path.Combine(Path.GetTempPath(), prefix + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Environment.ProcessId);
        Directory.CreateDirectory(work);
        progress.WriteLine($"work folder {work}");
        return work;
    }

    /// <summary>Writes the report to <paramref name="outPath"/> (when given) and says where.</summary>
    public static async Task WriteReportAsync(string? outPath, string document, TextWriter progress)
    {
        if (outPath is null) return;
        var path = Path.GetFullPath(outPath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, document).ConfigureAwait(false);
        progress.WriteLine($"wrote {path}");
    }

    /// <summary>
    /// Removes the work folder after a good run unless told to keep it; otherwise says where the data and logs are.
    /// <paramref name="sayWhenStuck"/>: whether a folder that cannot be removed is worth a line.
    /// </summary>
    public static void FinishWorkFolder(string work, bool remove, TextWriter progress, bool sayWhenStuck)
    {
        if (!remove)
        {
            progress.WriteLine($"data and logs kept in {work}");
            return;
        }
        try
        {
            Directory.Delete(work, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (sayWhenStuck) progress.WriteLine($"could not delete {work}: {ex.Message}");
        }
    }
}
