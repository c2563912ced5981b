using System.CommandLine;
using System.Text;
using Grpc.Core;
using MaaS.Cli.Commands;

namespace MaaS.Cli.Framework;

/// <summary>
/// The `maas` command tree and its one error policy: malformed arguments → exit 2 with the command's usage line
/// (nothing called); a server error → "error: &lt;status&gt;: &lt;sentence&gt;" and the exit code of its class; never a stack trace.
/// </summary>
public static class MaasCli
{
    /// <summary>Runs one command line; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, CliHost host, CancellationToken cancellation = default)
    {
        var globals = new GlobalOptions();
        var kit = new CommandKit(host, globals);
        var root = Build(kit, globals);
        var paths = Paths(root, kit);
        if (args.Length == 0)
        {
            host.Error.WriteLine(Overview(root, paths));
            return ExitCodes.Usage;
        }
        if (args is ["--help"] or ["-h"] or ["help"])
        {
            host.Out.WriteLine(Overview(root, paths));
            return ExitCodes.Ok;
        }
        ParseResult parse;
        try
        {
            parse = root.Parse(InferCommand.Normalize(args));
        }
        catch (InvalidOperationException ex)
        {
            // A validator that met a value it could not convert: still malformed arguments, still one line.
            host.Error.WriteLine($"error: usage: {OneLine(ex.Message)}");
            host.Error.WriteLine("usage: maas <command> …   (maas --help lists every command)");
            return ExitCodes.Usage;
        }
        if (parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
        {
            // "Required command was not provided" is the least telling of the errors: an unknown word says more.
            var first = parse.Errors.OrderBy(e => e.Message.StartsWith("Required command", StringComparison.Ordinal) ? 1 : 0).First();
            return Usage(host, parse.CommandResult.Command, first.Message, root, paths);
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = host.Out, Error = host.Error, EnableDefaultExceptionHandler = false }, cancellation);
        }
        catch (UsageException ex)
        {
            return Usage(host, parse.CommandResult.Command, ex.Message, root, paths);
        }
        catch (RpcException ex)
        {
            host.Error.WriteLine($"error: {ex.StatusCode}: {Sentence(ex)}");
            return ExitCodes.For(ex.StatusCode);
        }
        catch (CliFailure ex)
        {
            host.Error.WriteLine($"error: {ex.Status}: {ex.Message}");
            return ex.ExitCode;
        }
        catch (OperationCanceledException)
        {
            host.Error.WriteLine("error: Cancelled: interrupted before the command finished");
            return ExitCodes.Failure;
        }
        catch (HttpRequestException ex)
        {
            host.Error.WriteLine($"error: Unavailable: {OneLine(ex.Message)}");
            return ExitCodes.Unavailable;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            host.Error.WriteLine($"error: io: {OneLine(ex.Message)}");
            return ExitCodes.Failure;
        }
        catch (Exception ex)
        {
            // The promise is one line, never a stack trace, whatever went wrong.
            host.Error.WriteLine($"error: {ex.GetType().Name}: {OneLine(ex.Message)}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>The whole command tree.</summary>
    internal static RootCommand Build(CommandKit kit, GlobalOptions globals)
    {
        var root = new RootCommand("maas — the MaaS.Mesh command line: every admin action through the gateway, inference, training with live progress, charts.");
        foreach (var option in globals.All) root.Options.Add(option);
        Command[] commands =
        [
            ModelCommands.Build(kit),
            VersionCommands.Build(kit),
            AliasCommands.Build(kit),
            AliasCommands.BuildRollback(kit),
            DatasetCommands.Build(kit),
            DeploymentCommands.Build(kit),
            TrainCommands.BuildTrain(kit),
            TrainCommands.BuildJobs(kit),
            PolicyCommands.Build(kit),
            RolloutCommands.Build(kit),
            RolloutCommands.BuildTimeline(kit),
            .. UpdateCommands.Build(kit),
            MarketCommands.Build(kit),
            KeyCommands.Build(kit),
            InferCommand.Build(kit),
            WalkthroughCommand.Build(kit),
        ];
        foreach (var command in commands) root.Subcommands.Add(command);
        return root;
    }

    /// <summary>The usage line of one command: `usage: maas models get MODEL [--output table|json]`.</summary>
    internal static string UsageLine(Command command, UsagePaths paths)
    {
        if (paths.Lines.TryGetValue(command, out var line)) return $"usage: {paths.Names.GetValueOrDefault(command, "maas")} {line}";
        var text = new StringBuilder("usage: ").Append(paths.Names.GetValueOrDefault(command, "maas"));
        if (command.Subcommands.Count > 0)
        {
            return text.Append(" <").Append(string.Join('|', command.Subcommands.Select(c => c.Name))).Append("> …").ToString();
        }
        foreach (var argument in command.Arguments)
        {
            var name = argument.Arity.MaximumNumberOfValues > 1 ? $"{argument.Name}…" : argument.Name;
            text.Append(' ').Append(argument.Arity.MinimumNumberOfValues == 0 ? $"[{name}]" : name);
        }
        foreach (var option in command.Options.Where(o => !o.Recursive && !o.Hidden && o.Name is not "--help"))
        {
            var value = option.ValueType == typeof(bool) ? option.Name : $"{option.Name} {option.HelpName ?? "VALUE"}";
            if (option.Arity.MaximumNumberOfValues > 1 || option.AllowMultipleArgumentsPerToken) value += " …";
            text.Append(' ').Append(option.Required ? value : $"[{value}]");
        }
        if (paths.Extras.TryGetValue(command, out var extra)) text.Append(' ').Append(extra);
        return text.ToString();
    }

    /// <summary>Every command's usage line and purpose, the global options, the precedence and the exit codes.</summary>
    internal static string Overview(RootCommand root, UsagePaths paths)
    {
        var text = new StringBuilder("usage: maas <command> [arguments] [options]   (maas <command> --help for details)\n\ncommands:\n");
        foreach (var command in Leaves(root))
        {
            text.Append("  ").Append(UsageLine(command, paths)["usage: ".Length..]).Append('\n');
            text.Append("      ").Append(command.Description).Append('\n');
        }
        text.Append("\nglobal options (anywhere on the line): --address URL  --rest URL  --api-key KEY  --api-key-file FILE\n");
        text.Append("  --output table|json (json: the response messages, for scripts)  --timeout-seconds N (default 60; none for watches; 300 for the walkthrough)\n\n");
        text.Append(ConnectionSettings.Precedence).Append("\n\n").Append(ExitCodes.Table);
        return text.ToString();
    }

    private static int Usage(CliHost host, Command command, string message, RootCommand root, UsagePaths paths)
    {
        host.Error.WriteLine($"error: usage: {OneLine(message)}");
        if (command == root)
        {
            host.Error.WriteLine($"usage: maas <{string.Join('|', root.Subcommands.Select(c => c.Name))}> …   (maas --help lists every command)");
            return ExitCodes.Usage;
        }
        host.Error.WriteLine(UsageLine(command, paths));
        foreach (var child in command.Subcommands) host.Error.WriteLine("       " + UsageLine(child, paths)["usage: ".Length..]);
        return ExitCodes.Usage;
    }

    private static UsagePaths Paths(RootCommand root, CommandKit kit)
    {
        var paths = new Dictionary<Command, string> { [root] = "maas" };
        void Walk(Command parent)
        {
            foreach (var child in parent.Subcommands)
            {
                paths[child] = $"{paths[parent]} {child.Name}";
                Walk(child);
            }
        }
        Walk(root);
        return new UsagePaths(paths, kit.UsageExtras, kit.UsageLines);
    }

    /// <summary>Each command's words after `maas`, and the extra usage text some commands carry.</summary>
    internal sealed record UsagePaths(Dictionary<Command, string> Names, Dictionary<Command, string> Extras, Dictionary<Command, string> Lines);

    private static IEnumerable<Command> Leaves(Command command) =>
        command.Subcommands.Count == 0 ? [command] : command.Subcommands.SelectMany(Leaves);

    private static string Sentence(RpcException ex)
    {
        var detail = OneLine(ex.Status.Detail);
        if (detail.Length > 0) return detail;
        return ex.StatusCode switch
        {
            StatusCode.Unavailable => "the gateway cannot be reached",
            StatusCode.Unauthenticated => "the gateway wants a key (--api-key, MAAS_API_KEY or .maas/admin.key)",
            _ => "the server gave no reason",
        };
    }

    private static string OneLine(string? text) => string.Join(' ', (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
