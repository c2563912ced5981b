using MaaS.Cli.Framework;
using Spectre.Console;

namespace MaaS.Cli.Tests;

/// <summary>One run of the CLI in-process: its exit code, what it printed, and the host (to see whether it connected).</summary>
public sealed record CliResult(int ExitCode, string Out, string Error, CliHost Host);

/// <summary>Runs `maas` with a private environment, home and working folder, over strings instead of the terminal.</summary>
public sealed class CliRunner : IDisposable
{
    /// <summary>A scratch folder used as home and working directory.</summary>
    public string Folder { get; } = Directory.CreateTempSubdirectory("maas-cli-tests-").FullName;

    /// <summary>The environment the CLI sees (nothing from the real process).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>Runs the command line; <paramref name="interactive"/> makes the console a live terminal (ANSI, progress bars).</summary>
    public async Task<CliResult> RunAsync(params string[] args) => await RunAsync(interactive: false, args);

    /// <summary>Runs the command line on a console that is or is not interactive.</summary>
    public async Task<CliResult> RunAsync(bool interactive, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = interactive ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Standard : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        console.Profile.Width = 220;
        var host = new CliHost
        {
            Out = output,
            Error = error,
            Console = console,
            Environment = name => Environment.GetValueOrDefault(name),
            WorkingDirectory = Folder,
            HomeDirectory = Folder,
        };
        var code = await MaasCli.RunAsync(args, host);
        return new CliResult(code, output.ToString(), error.ToString(), host);
    }

    /// <summary>A path inside the scratch folder.</summary>
    public string PathOf(string name) => Path.Combine(Folder, name);

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
    }
}
