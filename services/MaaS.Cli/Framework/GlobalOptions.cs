using System.CommandLine;

namespace MaaS.Cli.Framework;

/// <summary>The options every command accepts, before or after its name.</summary>
public sealed class GlobalOptions
{
    /// <summary>Gateway gRPC address.</summary>
    public Option<string?> Address { get; } = new("--address") { Description = "gateway gRPC address (h2c)", HelpName = "URL", Recursive = true };

    /// <summary>Gateway REST address.</summary>
    public Option<string?> Rest { get; } = new("--rest") { Description = "gateway REST address", HelpName = "URL", Recursive = true };

    /// <summary>The key itself.</summary>
    public Option<string?> ApiKey { get; } = new("--api-key") { Description = "API key sent as a bearer token", HelpName = "KEY", Recursive = true };

    /// <summary>A file whose first line is the key.</summary>
    public Option<string?> ApiKeyFile { get; } = new("--api-key-file") { Description = "file whose first line is the key", HelpName = "FILE", Recursive = true };

    /// <summary>table or json.</summary>
    public Option<string> Output { get; } = new("--output", "-o")
    {
        Description = "table (for people) or json (the response messages, for scripts)",
        HelpName = "table|json",
        Recursive = true,
        DefaultValueFactory = _ => "table",
    };

    /// <summary>Overall deadline.</summary>
    public Option<int?> TimeoutSeconds { get; } = new("--timeout-seconds")
    {
        Description = "give up after this many seconds (default 60; none when watching a job; 300 for the walkthrough)",
        HelpName = "N",
        Recursive = true,
    };

    /// <summary>Creates the options with their checks.</summary>
    public GlobalOptions()
    {
        Output.AcceptOnlyFromAmong("table", "json");
        TimeoutSeconds.Validators.Add(result =>
        {
            if (CommandKit.Below(result, 1)) result.AddError("--timeout-seconds must be a positive whole number of seconds");
        });
    }

    /// <summary>All of them, to add to the root command.</summary>
    public IEnumerable<Option> All => [Address, Rest, ApiKey, ApiKeyFile, Output, TimeoutSeconds];
}
