using System.CommandLine;
using MaaS.Cli.Framework;
using MaaS.Cli.Plotting;
using MaaS.Registry.V1;

namespace MaaS.Cli.Commands;

/// <summary>`maas models list|get|search|create|plot`.</summary>
public static class ModelCommands
{
    /// <summary>Builds the group.</summary>
    public static Command Build(CommandKit kit) => CommandKit.Group("models", "models in the registry",
        List(kit), Get(kit), Search(kit), Create(kit), Plot(kit));

    private static Command List(CommandKit kit)
    {
        var prefix = CommandKit.Text("--prefix", "only names starting with this", "PREFIX");
        var tag = CommandKit.Text("--tag", "only models with this tag", "TAG");
        var task = CommandKit.Text("--task", "only models with this task", "TASK");
        var alias = CommandKit.Text("--alias", "only models that have this alias", "ALIAS");
        var limit = CommandKit.Limit();
        return kit.Leaf("list", "list models by name", [prefix, tag, task, alias, limit], async context =>
        {
            var registry = context.Registry;
            var (models, next) = await Paging.AllAsync(async (token, size) =>
            {
                var page = await registry.ListModelsAsync(new ListModelsRequest
                {
                    NamePrefix = context.Value(prefix) ?? "", Tag = context.Value(tag) ?? "", Task = context.Value(task) ?? "",
                    Alias = context.Value(alias) ?? "", PageSize = size, PageToken = token,
                }, cancellationToken: context.Cancellation);
                return (page.Models.AsEnumerable(), page.NextPageToken);
            }, context.Value(limit));
            context.Emit(new ListModelsResponse { Models = { models }, NextPageToken = next }, () => Table(context, models));
            return ExitCodes.Ok;
        });
    }

    private static Command Search(CommandKit kit)
    {
        var query = new Argument<string>("QUERY") { Description = "text to find in the name or description (case-insensitive)", Arity = ArgumentArity.ZeroOrOne };
        var prefix = CommandKit.Text("--prefix", "only names starting with this", "PREFIX");
        var tag = CommandKit.Text("--tag", "only models with this tag", "TAG");
        var task = CommandKit.Text("--task", "only models with this task", "TASK");
        var alias = CommandKit.Text("--alias", "only models that have this alias", "ALIAS");
        var limit = CommandKit.Limit();
        return kit.Leaf("search", "search models by text, tag, task or alias", [query, prefix, tag, task, alias, limit], async context =>
        {
            var registry = context.Registry;
            var (models, next) = await Paging.AllAsync(async (token, size) =>
            {
                var page = await registry.SearchModelsAsync(new SearchModelsRequest
                {
                    Query = context.Value(query) ?? "", NamePrefix = context.Value(prefix) ?? "", Tag = context.Value(tag) ?? "",
                    Task = context.Value(task) ?? "", Alias = context.Value(alias) ?? "", PageSize = size, PageToken = token,
                }, cancellationToken: context.Cancellation);
                return (page.Models.AsEnumerable(), page.NextPageToken);
            }, context.Value(limit));
            context.Emit(new SearchModelsResponse { Models = { models }, NextPageToken = next }, () => Table(context, models));
            return ExitCodes.Ok;
        });
    }

    private static Command Get(CommandKit kit)
    {
        var model = CommandKit.Model();
        return kit.Leaf("get", "show one model with its aliases", [model], async context =>
        {
            var response = await context.Registry.GetModelAsync(new GetModelRequest { Name = context.Value(model) }, cancellationToken: context.Cancellation);
            var m = response.Model;
            context.Emit(response, () => context.Console.Write(Output.Fields(
                ("name", m.Name), ("description", Output.OrDash(m.Description)), ("task", Output.OrDash(m.Task)), ("owner", Output.OrDash(m.Owner)),
                ("tags", Output.List(m.Tags)), ("latest version", Output.Number(m.LatestVersion)),
                ("aliases", Output.Map(m.Aliases, Output.Number)), ("created", Output.Time(m.CreatedAt)))));
            return ExitCodes.Ok;
        });
    }

    private static Command Create(CommandKit kit)
    {
        var model = CommandKit.Model("name of the new model");
        var description = CommandKit.Text("--description", "what the model is for");
        var task = CommandKit.Text("--task", "task, e.g. regression", "TASK");
        var owner = CommandKit.Text("--owner", "owning team or person", "OWNER");
        var tags = new Option<string[]>("--tag") { Description = "a tag (repeatable)", HelpName = "TAG", AllowMultipleArgumentsPerToken = false };
        var ifAbsent = new Option<bool>("--if-absent") { Description = "answer with the existing model instead of failing" };
        return kit.Leaf("create", "create a model (training creates it too)", [model, description, task, owner, tags, ifAbsent], async context =>
        {
            var response = await context.Registry.CreateModelAsync(new CreateModelRequest
            {
                Name = context.Value(model), Description = context.Value(description) ?? "", Task = context.Value(task) ?? "",
                Owner = context.Value(owner) ?? "", Tags = { context.Value(tags) ?? [] }, IfAbsent = context.Value(ifAbsent),
            }, cancellationToken: context.Cancellation);
            context.Emit(response, () => context.Say($"model {response.Model.Name} created"));
            return ExitCodes.Ok;
        });
    }

    private static Command Plot(CommandKit kit)
    {
        var model = CommandKit.Model();
        var metric = CommandKit.Text("--metric", "metric to draw per version (default: val_mse, train_mse, train_loss, whichever the versions have)", "NAME");
        var file = CommandKit.PlotFile();
        return kit.Leaf("plot", "PNG: a metric per version, and the traffic share per version of the rollout's timeline", [model, metric, file], async context =>
        {
            var name = context.Value(model);
            var path = Plots.ValidateTarget(context.Value(file) ?? $"{name}.png");
            var data = await ModelPlotData.LoadAsync(context, name, context.Value(metric));
            Plots.Report(context, ModelPlot.Write(data, path), path, data.Summary);
            return ExitCodes.Ok;
        });
    }

    private static void Table(CliContext context, IEnumerable<Model> models)
    {
        var table = Output.Table("NAME", "TASK", "LATEST", "ALIASES", "OWNER", "TAGS", "CREATED");
        foreach (var m in models)
        {
            table.Row(m.Name, Output.OrDash(m.Task), Output.Number(m.LatestVersion), Output.Map(m.Aliases, Output.Number), Output.OrDash(m.Owner),
                Output.List(m.Tags), Output.Time(m.CreatedAt));
        }
        context.Console.Write(table);
    }
}
