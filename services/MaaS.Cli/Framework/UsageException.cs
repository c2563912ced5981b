namespace MaaS.Cli.Framework;

/// <summary>Malformed arguments found before any call: exit 2 with the command's usage line.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>A failure that is not a gRPC status (a failed training job, a REST answer): one line, its own exit code.</summary>
public sealed class CliFailure(string status, string message, int exitCode) : Exception(message)
{
    /// <summary>The status word shown after "error:".</summary>
    public string Status { get; } = status;

    /// <summary>The exit code.</summary>
    public int ExitCode { get; } = exitCode;
}
