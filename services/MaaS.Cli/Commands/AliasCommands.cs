using System.CommandLine;
using MaaS.Cli.Framework;
using MaaS.Registry.V1;

namespace MaaS.Cli.Commands;

/// <summary>`maas aliases set|history|delete` and `maas rollback`.</summary>
public static class AliasCommands
{
    /// <summary>Builds the group.</summary>
    public static Command Build(CommandKit kit) => CommandKit.Group("aliases", "a model's aliases (production, staging …) and their history",
        Set(kit), History(kit), Delete(kit));

    /// <summary>`maas rollback MODEL`: the alias back to its previous target.</summary>
    public static Command BuildRollback(CommandKit kit)
    {
        var model = CommandKit.Model();
        var alias = CommandKit.Text("--alias", "alias to move back (default production)", "ALIAS");
        var reason = CommandKit.Reason();
        return kit.Leaf("rollback", "move an alias (default production) back to its previous version", [model, alias, reason], async context =>
        {
            var response = await context.Registry.RollbackAsync(new RollbackRequest
            {
                ModelName = context.Value(model), Alias = context.Value(alias) ?? "", Reason = context.Value(reason) ?? "", Actor = "maas",
            }, cancellationToken: context.Cancellation);
            context.Emit(response, () => context.Say($"{response.ModelName} {response.Alias}: v{response.PreviousVersion} → v{response.Version}"));
            return ExitCodes.Ok;
        });
    }

    private static Command Set(CommandKit kit)
    {
        var model = CommandKit.Model();
        var alias = CommandKit.Name("ALIAS", "alias name, e.g. production");
        var version = CommandKit.Version("version the alias points at");
        var reason = CommandKit.Reason();
        return kit.Leaf("set", "point an alias at a version", [model, alias, version, reason], async context =>
        {
            var response = await context.Registry.SetAliasAsync(new SetAliasRequest
            {
                ModelName = context.Value(model), Alias = context.Value(alias), Version = context.Value(version),
                Reason = context.Value(reason) ?? "", Actor = "maas",
            }, cancellationToken: context.Cancellation);
            context.Emit(response, () => context.Say(
                $"{response.ModelName} {response.Alias}: {(response.PreviousVersion == 0 ? "(none)" : $"v{response.PreviousVersion}")} → v{response.Version}"));
            return ExitCodes.Ok;
        });
    }

    private static Command History(CommandKit kit)
    {
        var model = CommandKit.Model();
        var alias = CommandKit.Text("--alias", "only this alias", "ALIAS");
        var limit = CommandKit.Limit(100);
        return kit.Leaf("history", "the recorded moves of a model's aliases, newest first", [model, alias, limit], async context =>
        {
            var registry = context.Registry;
            var (entries, next) = await Paging.AllAsync(async (token, size) =>
            {
                var page = await registry.GetAliasHistoryAsync(new GetAliasHistoryRequest
                {
                    ModelName = context.Value(model), Alias = context.Value(alias) ?? "", PageSize = size, PageToken = token,
                }, cancellationToken: context.Cancellation);
                return (page.Entries.AsEnumerable(), page.NextPageToken);
            }, context.Value(limit));
            context.Emit(new GetAliasHistoryResponse { Entries = { entries }, NextPageToken = next }, () =>
            {
                var table = Output.Table("AT", "ALIAS", "KIND", "FROM", "TO", "ACTOR", "REASON");
                foreach (var e in entries)
                {
                    table.Row(Output.Time(e.At), e.Alias, e.Kind, e.FromVersion == 0 ? "-" : $"v{e.FromVersion}", e.ToVersion == 0 ? "-" : $"v{e.ToVersion}",
                        Output.OrDash(e.Actor), Output.OrDash(e.Reason));
                }
                context.Console.Write(table);
            });
            return ExitCodes.Ok;
        });
    }

    private static Command Delete(CommandKit kit)
    {
        var model = CommandKit.Model();
        var alias = CommandKit.Name("ALIAS", "alias to remove");
        var reason = CommandKit.Reason();
        return kit.Leaf("delete", "remove an alias (recorded in its history)", [model, alias, reason], async context =>
        {
            var response = await context.Registry.DeleteAliasAsync(new DeleteAliasRequest
            {
                ModelName = context.Value(model), Alias = context.Value(alias), Reason = context.Value(reason) ?? "", Actor = "maas",
            }, cancellationToken: context.Cancellation);
            context.Emit(response, () => context.Say($"{response.ModelName} {response.Alias} removed (it pointed at v{response.PreviousVersion})"));
            return ExitCodes.Ok;
        });
    }
}
