using System.CommandLine;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using MaaS.Cli.Framework;
using MaaS.Updater.V1;

namespace MaaS.Cli.Commands;

/// <summary>`maas rollouts start|get|advance|abort|rollback` and `maas timeline MODEL`.</summary>
public static class RolloutCommands
{
    /// <summary>Builds the group.</summary>
    public static Command Build(CommandKit kit) => CommandKit.Group("rollouts", "progressive rollouts of a version against production",
        Start(kit), Get(kit), Advance(kit), Abort(kit), Rollback(kit));

    /// <summary>Builds `maas timeline MODEL`.</summary>
    public static Command BuildTimeline(CommandKit kit)
    {
        var model = CommandKit.Model();
        var since = CommandKit.Text("--since", "only entries from this time: ISO-8601 (2025-01-31T12:00:00Z) or an age such as 90s, 30m, 2h, 7d", "TIME");
        var kind = CommandKit.Text("--kind", "only entries of this kind (data_ingested, gate, rollout_step …)", "KIND");
        return kit.Leaf("timeline", "a model's update timeline: data, triggers, jobs, gates, rollout steps, alias moves", [model, since, kind], async context =>
        {
            var request = new ExplainModelRequest { ModelName = context.Value(model) };
            if (context.Value(since) is { } text) request.Since = Timestamp.FromDateTimeOffset(ParseSince(text, DateTimeOffset.UtcNow));
            var response = await context.Updater.ExplainModelAsync(request, cancellationToken: context.Cancellation);
            if (context.Value(kind) is { } only)
            {
                var kept = response.Entries.Where(e => e.Kind == only).ToList();
                response.Entries.Clear();
                response.Entries.AddRange(kept);
            }
            context.Emit(response, () =>
            {
                var table = Output.Table("AT", "KIND", "SUMMARY", "DETAILS");
                foreach (var e in response.Entries) table.Row(Output.Time(e.At), e.Kind, e.Summary, Output.Map(e.Details, v => v));
                context.Console.Write(table);
            });
            return ExitCodes.Ok;
        });
    }

    /// <summary>An absolute ISO-8601 time, or an age (90s, 30m, 2h, 7d) before <paramref name="now"/>.</summary>
    public static DateTimeOffset ParseSince(string text, DateTimeOffset now)
    {
        text = text.Trim();
        if (text.Length >= 2 && long.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            TimeSpan? age = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
            if (age is { } a) return now - a;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : throw new UsageException($"--since '{text}' is neither an ISO-8601 time nor an age such as 30m, 2h or 7d");
    }

    private static Command Start(CommandKit kit)
    {
        var model = CommandKit.Model();
        var version = CommandKit.Version("registered version to roll out");
        var reason = CommandKit.Reason();
        var plan = new PlanFlags();
        return kit.Leaf("start", "start a progressive rollout of a version (plan flags, else the policy's plan)", [model, version, reason, .. plan.All], async context =>
        {
            var request = new StartRolloutRequest { ModelName = context.Value(model), Version = context.Value(version), Reason = context.Value(reason) ?? "" };
            var patch = plan.Patch(context);
            if (plan.AnyGiven(context))
            {
                if (context.Value(plan.CanarySteps) is null) throw new UsageException("a plan given by flags needs --canary-steps");
                request.Plan = new RolloutPlan();
                patch(request.Plan);
            }
            var response = await context.Updater.StartRolloutAsync(request, cancellationToken: context.Cancellation);
            context.Emit(response, () => Show(context, response.Rollout));
            return ExitCodes.Ok;
        });
    }

    private static Command Get(CommandKit kit) => Simple(kit, "get", "show a model's current (or last) rollout", async (context, model) =>
    {
        var response = await context.Updater.GetRolloutAsync(new GetRolloutRequest { ModelName = model }, cancellationToken: context.Cancellation);
        context.Emit(response, () => Show(context, response.Rollout));
    });

    private static Command Advance(CommandKit kit) => Simple(kit, "advance", "move a waiting rollout to its next step (after the same checks)", async (context, model) =>
    {
        var response = await context.Updater.AdvanceRolloutAsync(new AdvanceRolloutRequest { ModelName = model }, cancellationToken: context.Cancellation);
        context.Emit(response, () => Show(context, response.Rollout));
    });

    private static Command Abort(CommandKit kit)
    {
        var model = CommandKit.Model();
        var reason = CommandKit.Reason();
        return kit.Leaf("abort", "stop a running rollout: traffic returns to the champion at once", [model, reason], async context =>
        {
            var response = await context.Updater.AbortRolloutAsync(new AbortRolloutRequest { ModelName = context.Value(model), Reason = context.Value(reason) ?? "" },
                cancellationToken: context.Cancellation);
            context.Emit(response, () => Show(context, response.Rollout));
            return ExitCodes.Ok;
        });
    }

    private static Command Rollback(CommandKit kit)
    {
        var model = CommandKit.Model();
        var reason = CommandKit.Reason();
        return kit.Leaf("rollback", "roll a completed rollout back: production and traffic return to the former champion", [model, reason], async context =>
        {
            var response = await context.Updater.RollbackRolloutAsync(new RollbackRolloutRequest { ModelName = context.Value(model), Reason = context.Value(reason) ?? "" },
                cancellationToken: context.Cancellation);
            context.Emit(response, () => Show(context, response.Rollout));
            return ExitCodes.Ok;
        });
    }

    private static Command Simple(CommandKit kit, string name, string description, Func<CliContext, string, Task> run)
    {
        var model = CommandKit.Model();
        return kit.Leaf(name, description, [model], async context =>
        {
            await run(context, context.Value(model));
            return ExitCodes.Ok;
        });
    }

    private static void Show(CliContext context, Rollout r) => context.Console.Write(Output.Fields(
        ("model", r.ModelName), ("rollout", r.Id), ("state", r.State),
        ("versions", $"champion v{r.ChampionVersion} → challenger v{r.ChallengerVersion}"),
        ("traffic", $"challenger {r.ChallengerPercent} %, champion {100 - r.ChallengerPercent} %"),
        ("step", r.Step < 0 ? "shadow" : $"{r.Step + 1} of {r.Plan?.CanarySteps.Count ?? 0} since {Output.Time(r.StepStartedAt)}"),
        ("plan", PlanFlags.Describe(r.Plan)), ("reason", Output.OrDash(r.Reason)),
        ("started", Output.Time(r.StartedAt)), ("ended", Output.Time(r.EndedAt))));
}
