using System.CommandLine;
using MaaS.Cli.Framework;
using MaaS.Registry.V1;

namespace MaaS.Cli.Commands;

/// <summary>`maas market search|get|install`: the catalog of ready models and training templates.</summary>
public static class MarketCommands
{
    /// <summary>Builds the group.</summary>
    public static Command Build(CommandKit kit) => CommandKit.Group("market", "the model market: ready models and training templates",
        Search(kit), Get(kit), Install(kit));

    private static Command Search(CommandKit kit)
    {
        var text = new Argument<string?>("TEXT") { Description = "words that must all occur in the name, title, tags or description", Arity = ArgumentArity.ZeroOrOne };
        var task = CommandKit.Text("--task", "only this task", "TASK");
        var tag = CommandKit.Text("--tag", "only entries with this tag", "TAG");
        var kind = CommandKit.Text("--kind", "model or template", "model|template");
        kind.AcceptOnlyFromAmong("model", "template");
        var limit = CommandKit.Limit();
        return kit.Leaf("search", "search the market", [text, task, tag, kind, limit], async context =>
        {
            var market = context.Market;
            var wanted = context.Value(kind) switch
            {
                "model" => MarketEntryKind.Model,
                "template" => MarketEntryKind.Template,
                _ => MarketEntryKind.Unspecified,
            };
            var total = 0;
            var (entries, next) = await Paging.AllAsync(async (token, size) =>
            {
                var page = await market.SearchMarketAsync(new SearchMarketRequest
                {
                    Text = context.Value(text) ?? "", Task = context.Value(task) ?? "", Tag = context.Value(tag) ?? "", Kind = wanted, PageSize = size, PageToken = token,
                }, cancellationToken: context.Cancellation);
                total = page.TotalSize;
                return (page.Entries.AsEnumerable(), page.NextPageToken);
            }, context.Value(limit));
            context.Emit(new SearchMarketResponse { Entries = { entries }, NextPageToken = next, TotalSize = total }, () =>
            {
                var table = Output.Table("NAME", "KIND", "TASK", "TITLE", "TAGS");
                foreach (var e in entries) table.Row(e.Name, Kind(e.Kind), Output.OrDash(e.Task), e.Title, Output.List(e.Tags));
                context.Console.Write(table);
                context.Say($"{entries.Count} of {total} entries");
            });
            return ExitCodes.Ok;
        });
    }

    private static Command Get(CommandKit kit)
    {
        var entry = CommandKit.Name("ENTRY", "market entry name");
        return kit.Leaf("get", "show a market entry's card", [entry], async context =>
        {
            var response = await context.Market.GetMarketEntryAsync(new GetMarketEntryRequest { Name = context.Value(entry) }, cancellationToken: context.Cancellation);
            var e = response.Entry;
            context.Emit(response, () => context.Console.Write(Output.Fields(
                ("name", e.Name), ("kind", Kind(e.Kind)), ("title", e.Title), ("task", Output.OrDash(e.Task)), ("tags", Output.List(e.Tags)),
                ("intended use", Output.OrDash(e.IntendedUse)), ("limits", Output.OrDash(e.Limits)), ("licence", Output.OrDash(e.Licence)),
                ("metrics", Output.Map(e.Metrics, Output.Number)), ("training data", Output.OrDash(e.TrainingData)),
                ("description", Output.OrDash(e.Description)), ("spec", Output.Map(e.Spec, v => v)),
                ("artifact", e.ArtifactSize == 0 ? "-" : $"{e.ArtifactDigest} ({e.ArtifactSize} bytes)"))));
            return ExitCodes.Ok;
        });
    }

    private static Command Install(CommandKit kit)
    {
        var entry = CommandKit.Name("ENTRY", "market model to install");
        var name = CommandKit.Text("--as", "registry model to create (default: the entry name)", "MODEL");
        var deploy = new Option<bool>("--deploy") { Description = "also set production to version 1 and deploy it" };
        return kit.Leaf("install", "copy a market model into the registry as version 1, optionally deployed", [entry, name, deploy], async context =>
        {
            var response = await context.Market.InstallMarketModelAsync(new InstallMarketModelRequest
            {
                EntryName = context.Value(entry), ModelName = context.Value(name) ?? "", Deploy = context.Value(deploy), Actor = "maas",
            }, cancellationToken: context.Cancellation);
            context.Emit(response, () => context.Say(
                $"installed {response.Model.Name} v{response.Version.Version}" +
                (response.ProductionSet ? ", production → v1" : "") + (response.DeploymentSet ? $", deployed (revision {response.Deployment.Revision})" : "")));
            return ExitCodes.Ok;
        }, timeoutSeconds: 300);
    }

    private static string Kind(MarketEntryKind kind) => kind switch
    {
        MarketEntryKind.Model => "model",
        MarketEntryKind.Template => "template",
        _ => "-",
    };
}
