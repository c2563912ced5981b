using System.CommandLine;
using MaaS.Cli.Framework;
using MaaS.Cli.Walkthrough;

namespace MaaS.Cli.Commands;

/// <summary>`maas walkthrough`: the story ./run.sh tells, unchanged (same flags, same output, 0 when every check held).</summary>
public static class WalkthroughCommand
{
    /// <summary>The walkthrough's own deadline when --timeout-seconds is not given.</summary>
    public const int DefaultTimeoutSeconds = 300;

    /// <summary>Builds the command.</summary>
    public static Command Build(CommandKit kit) => kit.Leaf(
        "walkthrough",
        "train → register → deploy → serve → update the linear-regression example, printing each step",
        [],
        context =>
        {
            var connection = context.Connection;
            var seconds = context.TimeoutSeconds ?? DefaultTimeoutSeconds;
            var options = new CliOptions("walkthrough", connection.GrpcAddress, connection.RestAddress, TimeSpan.FromSeconds(seconds), connection.ApiKey);
            return new WalkthroughRunner(options, context.Out).RunAsync();
        },
        // The runner keeps its own deadline and reports its failures itself.
        timeoutSeconds: null,
        usage: "[--address http://127.0.0.1:8001] [--rest http://127.0.0.1:8000] [--timeout-seconds 300] [--api-key-file .maas/admin.key]");
}
