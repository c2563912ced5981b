using Grpc.Net.Client;
using Spectre.Console;

namespace MaaS.Cli.Framework;

/// <summary>
/// Everything the CLI touches outside itself: its streams, environment, working and home folders, and how it
/// opens channels. The process uses <see cref="FromProcess"/>; tests build one over strings and loopback hosts.
/// </summary>
public sealed class CliHost
{
    /// <summary>Where results go (tables, JSON, progress).</summary>
    public required TextWriter Out { get; init; }

    /// <summary>Where the one-line errors and usage lines go.</summary>
    public required TextWriter Error { get; init; }

    /// <summary>The console tables and the live progress bar render on; it writes to <see cref="Out"/>.</summary>
    public required IAnsiConsole Console { get; init; }

    /// <summary>Reads an environment variable (null when unset).</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>The folder relative paths (the local key file) are read from.</summary>
    public string WorkingDirectory { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>The user's home folder, for ~/.config/maas/config.json.</summary>
    public string HomeDirectory { get; init; } = System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);

    /// <summary>Opens a channel to the gateway's gRPC address.</summary>
    public Func<Uri, GrpcChannel> ChannelFactory { get; init; } = DefaultChannel;

    /// <summary>Sends REST requests (infer --rest); the default is a plain handler.</summary>
    public Func<HttpMessageHandler> HttpHandlerFactory { get; init; } = () => new SocketsHttpHandler();

    /// <summary>How many channels were opened: tests check that refused arguments called nothing.</summary>
    public int ChannelsOpened => channelsOpened;

    /// <summary>How many REST clients were made.</summary>
    public int HttpClientsMade => httpClientsMade;

    private int channelsOpened;
    private int httpClientsMade;

    /// <summary>The real process: stdout, stderr, the terminal's capabilities.</summary>
    public static CliHost FromProcess()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Out) });
        if (System.Console.IsOutputRedirected)
        {
            // Piped tables should not wrap at the 80 columns Spectre assumes without a terminal.
            console.Profile.Width = 240;
        }
        return new CliHost { Out = System.Console.Out, Error = System.Console.Error, Console = console };
    }

    internal GrpcChannel OpenChannel(Uri address)
    {
        Interlocked.Increment(ref channelsOpened);
        return ChannelFactory(address);
    }

    internal HttpClient MakeHttpClient(Uri baseAddress)
    {
        Interlocked.Increment(ref httpClientsMade);
        return new HttpClient(HttpHandlerFactory()) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
    }

    private static GrpcChannel DefaultChannel(Uri address) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20, MaxSendMessageSize = 64 << 20 });
}
