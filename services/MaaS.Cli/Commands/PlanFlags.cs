using System.CommandLine;
using System.Globalization;
using MaaS.Cli.Framework;
using MaaS.Updater.V1;

namespace MaaS.Cli.Commands;

/// <summary>The rollout plan flags shared by `policies set` and `rollouts start`.</summary>
internal sealed class PlanFlags
{
    public Option<string?> CanarySteps { get; } = CommandKit.Text("--canary-steps", "challenger share per step, increasing, the last 100, e.g. 10,50,100", "P,P,100");
    public Option<int?> BakeSeconds { get; } = new("--bake-seconds") { Description = "seconds each step is held", HelpName = "N" };
    public Option<bool?> AutoAdvance { get; } = new("--auto-advance") { Description = "steps advance by themselves (true|false)", HelpName = "true|false" };
    public Option<int?> ShadowPercent { get; } = new("--shadow-percent") { Description = "share of calls mirrored in the shadow phase (0 = none)", HelpName = "P" };
    public Option<int?> ShadowSeconds { get; } = new("--shadow-seconds") { Description = "length of the shadow phase", HelpName = "N" };
    public Option<double?> MaxErrorRateIncrease { get; } = new("--max-error-rate-increase") { Description = "roll back above this error-rate increase, 0-1", HelpName = "X" };
    public Option<double?> MaxP99Ratio { get; } = new("--max-p99-ratio") { Description = "roll back above this p99 latency ratio (0 = unchecked)", HelpName = "X" };
    public Option<int?> MinRequests { get; } = new("--min-requests") { Description = "calls a step needs before it is judged", HelpName = "N" };

    public IEnumerable<Option> All => [CanarySteps, BakeSeconds, AutoAdvance, ShadowPercent, ShadowSeconds, MaxErrorRateIncrease, MaxP99Ratio, MinRequests];

    /// <summary>Whether any plan flag was given.</summary>
    public bool AnyGiven(CliContext context) => All.Any(o => context.Parse.GetResult(o) is { Implicit: false });

    /// <summary>Checks the flags now (before any call) and returns how they change a plan.</summary>
    public Action<RolloutPlan> Patch(CliContext context)
    {
        int[]? steps = context.Value(CanarySteps) is { } text ? ParseSteps(text) : null;
        var bake = context.Value(BakeSeconds);
        var auto = context.Value(AutoAdvance);
        var shadowPercent = context.Value(ShadowPercent);
        var shadowSeconds = context.Value(ShadowSeconds);
        var errors = context.Value(MaxErrorRateIncrease);
        var p99 = context.Value(MaxP99Ratio);
        var minRequests = context.Value(MinRequests);
        if (shadowPercent is < 0 or > 100) throw new UsageException("--shadow-percent must be 0-100");
        if (bake is < 0 || shadowSeconds is < 0 || minRequests is < 0) throw new UsageException("--bake-seconds, --shadow-seconds and --min-requests must be >= 0");
        return plan =>
        {
            if (steps is not null)
            {
                plan.CanarySteps.Clear();
                plan.CanarySteps.AddRange(steps);
            }
            if (bake is { } b) plan.BakeSeconds = b;
            if (auto is { } a) plan.AutoAdvance = a;
            if (shadowPercent is { } sp) plan.ShadowPercent = sp;
            if (shadowSeconds is { } ss) plan.ShadowSeconds = ss;
            if (errors is { } e) plan.MaxErrorRateIncrease = e;
            if (p99 is { } r) plan.MaxP99Ratio = r;
            if (minRequests is { } m) plan.MinRequests = m;
        };
    }

    /// <summary>"10,50,100" → [10, 50, 100]; each 1-100, strictly increasing, the last 100.</summary>
    public static int[] ParseSteps(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var steps = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i].TrimEnd('%'), NumberStyles.None, CultureInfo.InvariantCulture, out steps[i]) || steps[i] is < 1 or > 100)
            {
                throw new UsageException($"--canary-steps: '{parts[i]}' is not a share of 1-100");
            }
            if (i > 0 && steps[i] <= steps[i - 1]) throw new UsageException("--canary-steps must be strictly increasing");
        }
        if (steps.Length == 0 || steps[^1] != 100) throw new UsageException("--canary-steps must end with 100");
        return steps;
    }

    /// <summary>A plan in one line.</summary>
    public static string Describe(RolloutPlan? plan) => plan is null
        ? "production moves at once"
        : $"{(plan.ShadowPercent > 0 ? $"shadow {plan.ShadowPercent}% for {plan.ShadowSeconds}s, " : "")}canary {string.Join('→', plan.CanarySteps)}% " +
          $"bake {plan.BakeSeconds}s{(plan.AutoAdvance ? " auto" : " manual")}, max error +{Output.Number(plan.MaxErrorRateIncrease)}, " +
          $"p99 ×{Output.Number(plan.MaxP99Ratio)}, min {plan.MinRequests} calls";
}
