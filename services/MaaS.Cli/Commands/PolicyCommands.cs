using System.CommandLine;
using System.Globalization;
using Google.Protobuf;
using MaaS.Cli.Framework;
using MaaS.Updater.V1;

namespace MaaS.Cli.Commands;

/// <summary>`maas policies get|set|list`: when a model retrains, how the challenger is gated and rolled out.</summary>
public static class PolicyCommands
{
    /// <summary>Builds the group.</summary>
    public static Command Build(CommandKit kit) => CommandKit.Group("policies", "update policies: retraining triggers, the gate, the rollout plan",
        Get(kit), Set(kit), List(kit));

    private static Command Get(CommandKit kit)
    {
        var model = CommandKit.Model();
        return kit.Leaf("get", "show a model's update policy (the default when none is set)", [model], async context =>
        {
            var response = await context.Updater.GetPolicyAsync(new GetPolicyRequest { ModelName = context.Value(model) }, cancellationToken: context.Cancellation);
            context.Emit(response, () => Show(context, response.Policy));
            return ExitCodes.Ok;
        });
    }

    private static Command List(CommandKit kit) => kit.Leaf("list", "every stored policy, by model", [], async context =>
    {
        var response = await context.Updater.ListPoliciesAsync(new ListPoliciesRequest(), cancellationToken: context.Cancellation);
        context.Emit(response, () =>
        {
            var table = Output.Table("MODEL", "RETRAIN AFTER ROWS", "EVERY (S)", "HOLDOUT", "GATE", "MIN IMPROVEMENT", "WINDOW ROWS", "ROLLOUT");
            foreach (var p in response.Policies)
            {
                table.Row(p.ModelName, Output.Number(p.RetrainAfterRows), Output.Number(p.RetrainIntervalSeconds), Output.Number(p.HoldoutFraction),
                    Output.OrDash(p.GateMetric), Output.Number(p.MinImprovement), Output.Number(p.TrainingWindowRows), PlanFlags.Describe(p.Rollout));
            }
            context.Console.Write(table);
        });
        return ExitCodes.Ok;
    });

    private static Command Set(CommandKit kit)
    {
        var model = CommandKit.Model();
        var file = new Option<FileInfo>("--file") { Description = "the whole policy as JSON (proto JSON names) instead of the current one", HelpName = "FILE" }.AcceptExistingOnly();
        var retrainAfterRows = new Option<long?>("--retrain-after-rows") { Description = "retrain after this many new rows (0 = off)", HelpName = "N" };
        var holdout = new Option<double?>("--holdout-fraction") { Description = "share of new rows held out for the gate, (0, 0.5]", HelpName = "X" };
        var minImprovement = new Option<double?>("--min-improvement") { Description = "absolute improvement the challenger needs", HelpName = "X" };
        var relative = new Option<double?>("--min-relative-improvement") { Description = "relative improvement the challenger needs, [0, 1)", HelpName = "X" };
        var gateMetric = CommandKit.Text("--gate-metric", "mse, mae, r2, accuracy, f1 or log_loss", "NAME");
        var threshold = new Option<double?>("--score-threshold") { Description = "the challenger's score must also reach this", HelpName = "X" };
        var interval = new Option<long?>("--retrain-interval-seconds") { Description = "retrain on a schedule (0 = off)", HelpName = "N" };
        var window = new Option<long?>("--training-window-rows") { Description = "train on at most the newest N rows (0 = all)", HelpName = "N" };
        var ranges = new Option<string[]>("--range") { Description = "declared value range COLUMN=MIN:MAX (repeatable)", HelpName = "C=MIN:MAX" };
        var noRollout = new Option<bool>("--no-rollout") { Description = "promote at once instead of a progressive rollout" };
        var plan = new PlanFlags();
        return kit.Leaf("set", "change a model's update policy: the flags given change the current policy (or --file)",
            [model, file, retrainAfterRows, holdout, minImprovement, relative, gateMetric, threshold, interval, window, ranges, noRollout, .. plan.All],
            async context =>
            {
                // Every flag is checked before anything is called.
                var name = context.Value(model);
                Policy? fromFile = context.Parse.GetValue(file) is { } f ? ReadPolicy(f) : null;
                var patchPlan = plan.Patch(context);
                var anyPlan = plan.AnyGiven(context);
                if (anyPlan && context.Value(noRollout)) throw new UsageException("--no-rollout takes no rollout plan flag");
                var parsedRanges = (context.Value(ranges) ?? []).Select(ParseRange).ToList();

                var policy = fromFile ?? (await context.Updater.GetPolicyAsync(new GetPolicyRequest { ModelName = name }, cancellationToken: context.Cancellation)).Policy;
                policy.ModelName = name;
                if (context.Value(retrainAfterRows) is { } rows) policy.RetrainAfterRows = rows;
                if (context.Value(holdout) is { } h) policy.HoldoutFraction = h;
                if (context.Value(minImprovement) is { } mi) policy.MinImprovement = mi;
                if (context.Value(relative) is { } ri) policy.MinRelativeImprovement = ri;
                if (context.Value(gateMetric) is { } gm) policy.GateMetric = gm;
                if (context.Value(threshold) is { } st) policy.ScoreThreshold = st;
                if (context.Value(interval) is { } iv) policy.RetrainIntervalSeconds = iv;
                if (context.Value(window) is { } w) policy.TrainingWindowRows = w;
                foreach (var (column, range) in parsedRanges) policy.ColumnRanges[column] = range;
                if (context.Value(noRollout)) policy.Rollout = null;
                if (anyPlan)
                {
                    policy.Rollout ??= new RolloutPlan();
                    patchPlan(policy.Rollout);
                }
                var response = await context.Updater.SetPolicyAsync(new SetPolicyRequest { Policy = policy }, cancellationToken: context.Cancellation);
                context.Emit(response, () => Show(context, response.Policy));
                return ExitCodes.Ok;
            });
    }

    private static Policy ReadPolicy(FileInfo file)
    {
        try
        {
            return JsonParser.Default.Parse<Policy>(File.ReadAllText(file.FullName));
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new UsageException($"--file {file.Name} is not a Policy in JSON: {ex.Message}");
        }
    }

    private static (string Column, ValueRange Range) ParseRange(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var colon = text.LastIndexOf(':');
        if (equals > 0 && colon > equals &&
            double.TryParse(text[(equals + 1)..colon], NumberStyles.Float, CultureInfo.InvariantCulture, out var min) &&
            double.TryParse(text[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var max) && min <= max)
        {
            return (text[..equals].Trim(), new ValueRange { Min = min, Max = max });
        }
        throw new UsageException($"--range '{text}' must be COLUMN=MIN:MAX with MIN <= MAX, e.g. x=0:10");
    }

    private static void Show(CliContext context, Policy p) => context.Console.Write(Output.Fields(
        ("model", p.ModelName),
        ("retrain after rows", Output.Number(p.RetrainAfterRows)),
        ("retrain every (s)", Output.Number(p.RetrainIntervalSeconds)),
        ("drift", p.Drift is { } d ? $"{d.Method} > {Output.Number(d.Threshold)} over {d.Window} samples (min {d.MinSamples})" : "-"),
        ("feedback", p.Feedback is { } fb ? $"degradation > {Output.Number(fb.MaxDegradation)} over {fb.WindowRows} rows" : "-"),
        ("holdout fraction", Output.Number(p.HoldoutFraction)),
        ("gate", $"{Output.OrDash(p.GateMetric)}: better by {Output.Number(p.MinImprovement)} and {Output.Number(p.MinRelativeImprovement * 100)} %" +
                 (p.HasScoreThreshold ? $", at least {Output.Number(p.ScoreThreshold)}" : "")),
        ("training window rows", Output.Number(p.TrainingWindowRows)),
        ("column ranges", Output.Map(p.ColumnRanges, r => $"[{Output.Number(r.Min)}, {Output.Number(r.Max)}]")),
        ("rollout", PlanFlags.Describe(p.Rollout))));
}
