using System.CommandLine;
using System.Globalization;
using MaaS.Cli.Framework;
using MaaS.Registry.V1;

namespace MaaS.Cli.Commands;

/// <summary>`maas versions list|get|archive|delete`.</summary>
public static class VersionCommands
{
    /// <summary>Builds the group.</summary>
    public static Command Build(CommandKit kit) => CommandKit.Group("versions", "versions of a model",
        List(kit), Get(kit), Archive(kit), Delete(kit));

    private static Command List(CommandKit kit)
    {
        var model = CommandKit.Model();
        var limit = CommandKit.Limit(1000);
        return kit.Leaf("list", "list a model's versions, oldest first", [model, limit], async context =>
        {
            var registry = context.Registry;
            var (versions, next) = await Paging.AllAsync(async (token, size) =>
            {
                var page = await registry.ListVersionsAsync(new ListVersionsRequest { ModelName = context.Value(model), PageSize = size, PageToken = token },
                    cancellationToken: context.Cancellation);
                return (page.Versions.AsEnumerable(), page.NextPageToken);
            }, context.Value(limit));
            context.Emit(new ListVersionsResponse { Versions = { versions }, NextPageToken = next }, () =>
            {
                var table = Output.Table("VERSION", "STATUS", "METRICS", "DATASET", "JOB", "SIZE", "CREATED");
                foreach (var v in versions)
                {
                    table.Row(Output.Number(v.Version), Status(v.Status), Output.Map(v.Metrics, Output.Number),
                        v.Lineage is { DatasetName.Length: > 0 } l ? $"{l.DatasetName} v{l.DatasetVersion}" : "-",
                        Output.OrDash(v.Lineage?.TrainingJobId), Output.Number(v.ArtifactSize), Output.Time(v.CreatedAt));
                }
                context.Console.Write(table);
            });
            return ExitCodes.Ok;
        });
    }

    private static Command Get(CommandKit kit)
    {
        var model = CommandKit.Model();
        var which = CommandKit.Name("VERSION|ALIAS", "a version number, or an alias such as production");
        return kit.Leaf("get", "show one version (by number or alias) with its signature, metrics and lineage", [model, which], async context =>
        {
            var target = context.Value(which).Trim();
            var request = new GetVersionRequest { ModelName = context.Value(model) };
            if (long.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                if (number < 1) throw new UsageException("VERSION must be a whole number >= 1");
                request.Version = number;
            }
            else
            {
                request.Alias = target;
            }
            var response = await context.Registry.GetVersionAsync(request, cancellationToken: context.Cancellation);
            context.Emit(response, () => Show(context, response.Version));
            return ExitCodes.Ok;
        });
    }

    private static Command Archive(CommandKit kit)
    {
        var model = CommandKit.Model();
        var version = CommandKit.Version();
        var reason = CommandKit.Reason();
        return kit.Leaf("archive", "archive a version: still readable, no longer aliasable or deployable", [model, version, reason], async context =>
        {
            var response = await context.Registry.ArchiveVersionAsync(new ArchiveVersionRequest
            {
                ModelName = context.Value(model), Version = context.Value(version), Reason = context.Value(reason) ?? "", Actor = "maas",
            }, cancellationToken: context.Cancellation);
            context.Emit(response, () => context.Say($"{response.Version.ModelName} v{response.Version.Version} is {Status(response.Version.Status)}"));
            return ExitCodes.Ok;
        });
    }

    private static Command Delete(CommandKit kit)
    {
        var model = CommandKit.Model();
        var version = CommandKit.Version();
        var reason = CommandKit.Reason();
        return kit.Leaf("delete", "delete a version's metadata (and its artifact when nothing else stores the bytes)", [model, version, reason], async context =>
        {
            var response = await context.Registry.DeleteVersionAsync(new DeleteVersionRequest
            {
                ModelName = context.Value(model), Version = context.Value(version), Reason = context.Value(reason) ?? "", Actor = "maas",
            }, cancellationToken: context.Cancellation);
            context.Emit(response, () => context.Say($"{response.ModelName} v{response.Version} deleted{(response.ArtifactDeleted ? " with its artifact" : "")}"));
            return ExitCodes.Ok;
        });
    }

    /// <summary>A version status as a word.</summary>
    public static string Status(VersionStatus status) => status switch
    {
        VersionStatus.Ready => "READY",
        VersionStatus.Archived => "ARCHIVED",
        VersionStatus.Registering => "REGISTERING",
        VersionStatus.Failed => "FAILED",
        _ => "UNSPECIFIED",
    };

    private static void Show(CliContext context, ModelVersion v)
    {
        static string Tensors(IEnumerable<TensorSpec> specs) =>
            Output.List(specs.Select(t => $"{t.Name} {t.Datatype}[{string.Join(',', t.Shape)}]"));
        context.Console.Write(Output.Fields(
            ("model", v.ModelName), ("version", Output.Number(v.Version)), ("status", Status(v.Status)),
            ("inputs", Tensors(v.Inputs)), ("outputs", Tensors(v.Outputs)), ("metrics", Output.Map(v.Metrics, Output.Number)),
            ("hyperparameters", Output.Map(v.Hyperparameters, s => s)),
            ("dataset", v.Lineage is { DatasetName.Length: > 0 } l ? $"{l.DatasetName} v{l.DatasetVersion}" : "-"),
            ("training job", Output.OrDash(v.Lineage?.TrainingJobId)), ("parent version", Output.Number(v.Lineage?.ParentVersion ?? 0)),
            ("artifact", $"{Output.OrDash(v.ArtifactDigest)} ({Output.Number(v.ArtifactSize)} bytes)"),
            ("created", $"{Output.Time(v.CreatedAt)} by {Output.OrDash(v.CreatedBy)}")));
        if (v.ModelCard.Length > 0)
        {
            context.Say("");
            context.Say(v.ModelCard);
        }
    }
}
