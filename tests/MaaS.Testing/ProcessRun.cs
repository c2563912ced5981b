using System.Diagnostics;

namespace MaaS.Testing;

/// <summary>What a command printed and how it ended.</summary>
/// <param name="ExitCode">Its exit code.</param>
/// <param name="Stdout">Its standard output.</param>
/// <param name="Stderr">Its standard error; with a closing line saying so when it was killed for taking too long.</param>
/// <param name="TimedOut">Whether it was killed for taking too long.</param>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr, bool TimedOut);

/// <summary>A command run to its end with its output captured (builds, scripts, tools, clients).</summary>
public static class ProcessRun
{
    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="args"/> in <paramref name="directory"/>; returns its exit code and
    /// stdout and stderr. When <paramref name="timeout"/> passes it is killed with its children, and what it printed
    /// is returned with a line saying so in stderr.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(string file, string directory, TimeSpan timeout,
        IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        using var process = Process.Start(info) ?? throw new HarnessException($"{file} could not be started.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Killed, and still answered: the caller's failure message then shows what the command had printed.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
            return new ProcessResult(process.ExitCode, await stdout.ConfigureAwait(false),
                await stderr.ConfigureAwait(false) + $"\n(killed: {file} did not finish within {timeout.TotalSeconds:0} s)", TimedOut: true);
        }
        return new ProcessResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false), TimedOut: false);
    }

    /// <summary>Runs <c>dotnet build -c Release --nologo -v q {project}</c>; throws <see cref="HarnessException"/> with the errors when it fails.</summary>
    public static async Task BuildReleaseAsync(string project, string directory, TextWriter progress)
    {
        progress.WriteLine($"dotnet build -c Release {project}");
        var (exit, stdout, stderr, _) = await RunAsync("dotnet", directory, TimeSpan.FromMinutes(10),
            ["build", "-c", "Release", "--nologo", "-v", "q", project]).ConfigureAwait(false);
        if (exit != 0)
        {
            var errors = (stdout + stderr).Split('\n').Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Take(10);
            throw new HarnessException($"`dotnet build -c Release {project}` failed:\n{string.Join('\n', errors)}");
        }
    }
}
