using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using MaaS.Cli.Framework;
using MaaS.Registry.V1;

namespace MaaS.Cli.Commands;

/// <summary>`maas deployments get|set|history`: which versions take a model's traffic, on which pool, in what share.</summary>
public static partial class DeploymentCommands
{
    /// <summary>Builds the group.</summary>
    public static Command Build(CommandKit kit) => CommandKit.Group("deployments", "how a model's traffic is split over versions and pools",
        Get(kit), Set(kit), History(kit));

    /// <summary>
    /// Parses the --target values: VERSION=WEIGHT or VERSION@POOL=WEIGHT (pool default <paramref name="pool"/>); the weights must sum to 100.
    /// </summary>
    public static List<DeploymentEntry> ParseTargets(IReadOnlyList<string> targets, string pool)
    {
        var entries = new List<DeploymentEntry>();
        foreach (var target in targets)
        {
            var match = TargetPattern().Match(target.Trim());
            if (!match.Success)
            {
                throw new UsageException($"--target '{target}' must be VERSION=WEIGHT or VERSION@POOL=WEIGHT, e.g. 2=90 or 3@gpu=10");
            }
            var version = long.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture);
            var weight = int.Parse(match.Groups["weight"].Value, CultureInfo.InvariantCulture);
            if (version < 1) throw new UsageException($"--target '{target}': the version must be >= 1");
            if (weight > 100) throw new UsageException($"--target '{target}': the weight must be 0-100");
            var entryPool = match.Groups["pool"].Success ? match.Groups["pool"].Value : pool;
            if (entries.Any(e => e.Version == version && e.Pool == entryPool)) throw new UsageException($"--target names v{version} on pool {entryPool} twice");
            entries.Add(new DeploymentEntry { Version = version, Pool = entryPool, Weight = weight });
        }
        if (entries.Count > 16) throw new UsageException($"at most 16 --target values, not {entries.Count}");
        var sum = entries.Sum(e => e.Weight);
        if (entries.Count > 0 && sum != 100) throw new UsageException($"the --target weights must sum to 100, not {sum}");
        return entries;
    }

    /// <summary>Parses --shadow VERSION=PERCENT.</summary>
    public static ShadowTarget ParseShadow(string text)
    {
        var match = ShadowPattern().Match(text.Trim());
        if (!match.Success) throw new UsageException($"--shadow '{text}' must be VERSION=PERCENT, e.g. 3=20");
        var version = long.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture);
        var percent = int.Parse(match.Groups["percent"].Value, CultureInfo.InvariantCulture);
        if (version < 1 || percent > 100) throw new UsageException($"--shadow '{text}': version >= 1 and percent 0-100");
        return new ShadowTarget { Version = version, Percent = percent };
    }

    private static Command Get(CommandKit kit)
    {
        var model = CommandKit.Model();
        return kit.Leaf("get", "show a model's current deployment", [model], async context =>
        {
            var response = await context.Registry.GetDeploymentAsync(new GetDeploymentRequest { ModelName = context.Value(model) }, cancellationToken: context.Cancellation);
            context.Emit(response, () => Show(context, response.Deployment));
            return ExitCodes.Ok;
        });
    }

    private static Command Set(CommandKit kit)
    {
        var model = CommandKit.Model();
        var targets = new Option<string[]>("--target") { Description = "VERSION=WEIGHT or VERSION@POOL=WEIGHT (repeatable; weights sum to 100)", HelpName = "V=W" };
        var pool = CommandKit.Text("--pool", "pool of the targets that name none (default: default)", "POOL");
        var shadow = CommandKit.Text("--shadow", "mirror a share of the calls to a version: VERSION=PERCENT", "V=P");
        var undeploy = new Option<bool>("--undeploy") { Description = "remove every target (no traffic)" };
        var expected = new Option<long>("--expected-revision") { Description = "refuse if the current revision is not this one", HelpName = "N" };
        var reason = CommandKit.Reason();
        return kit.Leaf("set", "replace a model's deployment (a new revision)", [model, targets, pool, shadow, undeploy, expected, reason], async context =>
        {
            var given = context.Value(targets) ?? [];
            if (context.Value(undeploy) && given.Length > 0) throw new UsageException("--undeploy takes no --target");
            if (!context.Value(undeploy) && given.Length == 0) throw new UsageException("give at least one --target VERSION=WEIGHT, or --undeploy");
            var entries = ParseTargets(given, context.Value(pool) ?? "default");
            var request = new SetDeploymentRequest
            {
                ModelName = context.Value(model), Entries = { entries }, Actor = "maas", Reason = context.Value(reason) ?? "",
                ExpectedRevision = context.Value(expected),
            };
            if (context.Value(shadow) is { } mirrored) request.Shadow = ParseShadow(mirrored);
            var response = await context.Registry.SetDeploymentAsync(request, cancellationToken: context.Cancellation);
            context.Emit(response, () =>
            {
                context.Say(response.Changed ? $"revision {response.Deployment.Revision} in force" : "unchanged (it equals the current deployment)");
                Show(context, response.Deployment);
            });
            return ExitCodes.Ok;
        });
    }

    private static Command History(CommandKit kit)
    {
        var model = CommandKit.Model();
        var limit = CommandKit.Limit(100);
        return kit.Leaf("history", "the revisions of a model's deployment, newest first", [model, limit], async context =>
        {
            var registry = context.Registry;
            var (revisions, next) = await Paging.AllAsync(async (token, size) =>
            {
                var page = await registry.GetDeploymentHistoryAsync(new GetDeploymentHistoryRequest { ModelName = context.Value(model), PageSize = size, PageToken = token },
                    cancellationToken: context.Cancellation);
                return (page.Deployments.AsEnumerable(), page.NextPageToken);
            }, context.Value(limit));
            context.Emit(new GetDeploymentHistoryResponse { Deployments = { revisions }, NextPageToken = next }, () =>
            {
                var table = Output.Table("REVISION", "TARGETS", "SHADOW", "ACTOR", "REASON", "AT");
                foreach (var d in revisions)
                {
                    table.Row(Output.Number(d.Revision), Targets(d), Shadow(d), Output.OrDash(d.Actor), Output.OrDash(d.Reason), Output.Time(d.CreatedAt));
                }
                context.Console.Write(table);
            });
            return ExitCodes.Ok;
        });
    }

    private static void Show(CliContext context, Deployment d)
    {
        if (d.Revision == 0)
        {
            context.Say($"{d.ModelName} was never deployed");
            return;
        }
        context.Console.Write(Output.Fields(("model", d.ModelName), ("revision", Output.Number(d.Revision)), ("shadow", Shadow(d)),
            ("set", $"{Output.Time(d.CreatedAt)} by {Output.OrDash(d.Actor)}"), ("reason", Output.OrDash(d.Reason))));
        var table = Output.Table("VERSION", "POOL", "WEIGHT");
        foreach (var e in d.Entries) table.Row($"v{e.Version}", e.Pool, $"{e.Weight} %");
        context.Console.Write(table);
    }

    private static string Targets(Deployment d) =>
        d.Entries.Count == 0 ? "(undeployed)" : string.Join(", ", d.Entries.Select(e => $"v{e.Version}@{e.Pool} {e.Weight}%"));

    private static string Shadow(Deployment d) => d.Shadow is { } s ? $"v{s.Version} {s.Percent}%" : "-";

    [GeneratedRegex(@"^(?<version>\d{1,18})(@(?<pool>[A-Za-z0-9._-]{1,64}))?=(?<weight>\d{1,3})%?$")]
    private static partial Regex TargetPattern();

    [GeneratedRegex(@"^(?<version>\d{1,18})=(?<percent>\d{1,3})%?$")]
    private static partial Regex ShadowPattern();
}
