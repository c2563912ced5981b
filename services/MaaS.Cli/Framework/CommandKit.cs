using System.CommandLine;
using System.CommandLine.Parsing;
using Grpc.Core;

namespace MaaS.Cli.Framework;

/// <summary>Builds commands the same way everywhere: arguments, options, the deadline, the context.</summary>
public sealed class CommandKit(CliHost host, GlobalOptions globals)
{
    /// <summary>The deadline of a command that makes a few calls and returns.</summary>
    public const int DefaultTimeoutSeconds = 60;

    /// <summary>What a command's usage line shows beyond its arguments and visible options.</summary>
    public Dictionary<Command, string> UsageExtras { get; } = [];

    /// <summary>Usage lines written by hand where the generated one would be too long to read.</summary>
    public Dictionary<Command, string> UsageLines { get; } = [];

    /// <summary>The global options.</summary>
    public GlobalOptions Globals => globals;

    /// <summary>A command that only groups others (`maas models …`).</summary>
    public static Command Group(string name, string description, params Command[] children)
    {
        var group = new Command(name, description);
        foreach (var child in children) group.Subcommands.Add(child);
        return group;
    }

    /// <summary>
    /// A command that runs <paramref name="run"/>. <paramref name="timeoutSeconds"/> is its deadline unless
    /// --timeout-seconds says otherwise; null = none (watching a job, the walkthrough's own deadline).
    /// </summary>
    public Command Leaf(string name, string description, IEnumerable<Symbol> symbols, Func<CliContext, Task<int>> run, int? timeoutSeconds = DefaultTimeoutSeconds,
        string? usage = null, string? usageLine = null)
    {
        var command = new Command(name, description);
        if (usage is not null) UsageExtras[command] = usage;
        if (usageLine is not null) UsageLines[command] = usageLine;
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Argument argument: command.Arguments.Add(argument); break;
                case Option option: command.Options.Add(option); break;
                default: throw new ArgumentException($"unexpected symbol {symbol.Name}", nameof(symbols));
            }
        }
        command.SetAction(async (parse, cancellation) =>
        {
            var seconds = parse.GetValue(globals.TimeoutSeconds) ?? timeoutSeconds;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            if (seconds is { } limit) deadline.CancelAfter(TimeSpan.FromSeconds(limit));
            using var context = new CliContext(host, parse, globals, deadline.Token);
            try
            {
                return await run(context);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && ex.Status.DebugException is not null)
            {
                // The channel's own words ("Error connecting to subchannel.") do not say where it tried.
                throw new CliFailure("Unavailable", $"cannot reach the gateway at {context.Connection.GrpcAddress} ({ex.Status.Detail})", ExitCodes.Unavailable);
            }
            catch (Exception ex) when (deadline.IsCancellationRequested && !cancellation.IsCancellationRequested &&
                                       ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled or StatusCode.DeadlineExceeded })
            {
                throw new CliFailure("DeadlineExceeded", $"no answer within {seconds} s (raise --timeout-seconds)", ExitCodes.Unavailable);
            }
        });
        return command;
    }

    /// <summary>A required model name.</summary>
    public static Argument<string> Model(string description = "model name") => Name("MODEL", description);

    /// <summary>A required non-empty name.</summary>
    public static Argument<string> Name(string name, string description)
    {
        var argument = new Argument<string>(name) { Description = description };
        argument.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>())) result.AddError($"{name} must not be empty");
        });
        return argument;
    }

    /// <summary>A required version number (1, 2, 3 …).</summary>
    public static Argument<long> Version(string description = "version number (1, 2, 3 …)")
    {
        var argument = new Argument<long>("VERSION") { Description = description };
        argument.Validators.Add(result =>
        {
            if (Below(result, 1)) result.AddError("VERSION must be a whole number >= 1");
        });
        return argument;
    }

    /// <summary>
    /// Whether the value typed is a whole number below <paramref name="minimum"/>. Reads the token, not the converted value:
    /// a token that is not a number at all is already reported by the converter (and converting it here would throw).
    /// </summary>
    public static bool Below(SymbolResult result, long minimum) =>
        result.Tokens.Count > 0 && long.TryParse(result.Tokens[^1].Value, System.Globalization.NumberStyles.AllowLeadingSign,
            System.Globalization.CultureInfo.InvariantCulture, out var value) && value < minimum;

    /// <summary>An optional text option.</summary>
    public static Option<string?> Text(string name, string description, string helpName = "TEXT") =>
        new(name) { Description = description, HelpName = helpName };

    /// <summary>How many items a list shows at most (pages are fetched until then).</summary>
    public static Option<int> Limit(int defaultValue = 500)
    {
        var option = new Option<int>("--limit") { Description = $"show at most this many (default {defaultValue})", HelpName = "N", DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (Below(result, 1)) result.AddError("--limit must be a whole number >= 1");
        });
        return option;
    }

    /// <summary>The reason recorded with a change.</summary>
    public static Option<string?> Reason() => Text("--reason", "why (recorded in the history)");

    /// <summary>A plot's output file.</summary>
    public static Option<string?> PlotFile() => Text("--out", "PNG file to write (default: derived from the name)", "FILE");
}
