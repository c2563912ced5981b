using System.Globalization;
using MaaS.Updater.V1;

namespace MaaS.Updater.Rollout;

/// <summary>How a step stands: healthy, still short of evidence, or failed (roll back).</summary>
public enum VerdictKind
{
    /// <summary>The challenger stays within the plan's bounds and has answered enough calls.</summary>
    Healthy,
    /// <summary>Within bounds so far, but the challenger has answered fewer than min_requests calls in the step.</summary>
    Waiting,
    /// <summary>The challenger broke a bound: roll back.</summary>
    Failed,
}

/// <summary>A judgement of a step, with the numbers behind it.</summary>
public sealed record Verdict(VerdictKind Kind, string Reason, IReadOnlyDictionary<string, string> Details);

/// <summary>
/// The checks of a rollout step: challenger against champion on error rate and p99 latency, from the
/// gateways' traffic windows of the step. Judged continuously, so a failing challenger is caught during
/// its step, not only at its end.
/// </summary>
public static class RolloutChecks
{
    // Rates are ratios of counts: an exact tie must not fail on rounding.
    private const double Epsilon = 1e-12;

    /// <summary>
    /// Judges a step. <paramref name="championStep"/> is the champion's traffic in the step; when it holds
    /// fewer than the plan's minimum calls (at the 100 % step the champion gets none) the champion's traffic
    /// over the whole rollout, <paramref name="championRollout"/>, is the baseline instead. In the shadow
    /// phase the challenger's numbers are its shadow copies (their latency is not observed, so only the
    /// error rate is judged). Error rate is judged once the challenger answered max(1, min_requests) calls;
    /// p99 once both did.
    /// </summary>
    public static Verdict Judge(RolloutPlan plan, bool shadow, TrafficTally championStep, TrafficTally championRollout, TrafficTally challenger)
    {
        var needed = Math.Max(1, plan.MinRequests);
        var champion = championStep.Requests >= needed || championRollout.Requests <= championStep.Requests ? championStep : championRollout;
        var challengerRequests = shadow ? challenger.ShadowRequests : challenger.Requests;
        var challengerErrors = shadow ? challenger.ShadowErrors : challenger.Errors;
        var challengerRate = shadow ? challenger.ShadowErrorRate : challenger.ErrorRate;
        var championP99 = champion.P99Ms;
        var challengerP99 = shadow ? null : challenger.P99Ms;

        var details = new Dictionary<string, string>
        {
            ["champion_requests"] = Show(champion.Requests),
            ["champion_errors"] = Show(champion.Errors),
            ["champion_error_rate"] = Show(champion.ErrorRate),
            ["challenger_requests"] = Show(challengerRequests),
            ["challenger_errors"] = Show(challengerErrors),
            ["challenger_error_rate"] = Show(challengerRate),
            ["min_requests"] = Show(plan.MinRequests),
            ["max_error_rate_increase"] = Show(plan.MaxErrorRateIncrease),
            ["max_p99_ratio"] = Show(plan.MaxP99Ratio),
            ["champion_baseline"] = ReferenceEquals(champion, championStep) ? "step" : "rollout",
        };
        if (championP99 is { } cp) details["champion_p99_ms"] = Show(cp);
        if (challengerP99 is { } xp) details["challenger_p99_ms"] = Show(xp);
        var calls = shadow ? "shadow copies" : "calls";

        if (challengerRequests >= needed && challengerRate - champion.ErrorRate > plan.MaxErrorRateIncrease + Epsilon)
        {
            return new Verdict(VerdictKind.Failed,
                $"the challenger's error rate {Percent(challengerRate)} ({challengerErrors} of {challengerRequests} {calls}) exceeds the champion's "
                + $"{Percent(champion.ErrorRate)} ({champion.Errors} of {champion.Requests} calls) by more than max_error_rate_increase {Percent(plan.MaxErrorRateIncrease)}",
                details);
        }
        if (!shadow && plan.MaxP99Ratio > 0 && challengerRequests >= needed && champion.Requests >= needed
            && championP99 is { } championMs && challengerP99 is { } challengerMs && championMs > 0
            && challengerMs > plan.MaxP99Ratio * championMs + Epsilon)
        {
            details["p99_ratio"] = Show(challengerMs / championMs);
            return new Verdict(VerdictKind.Failed,
                $"the challenger's p99 latency {challengerMs:0.###} ms ({challengerRequests} calls) is {challengerMs / championMs:0.##}× the champion's "
                + $"{championMs:0.###} ms ({champion.Requests} calls), above max_p99_ratio {plan.MaxP99Ratio:0.##}",
                details);
        }
        if (challengerRequests < plan.MinRequests)
        {
            return new Verdict(VerdictKind.Waiting,
                $"the challenger has answered {challengerRequests} of the min_requests {plan.MinRequests} {calls} of this step", details);
        }
        return new Verdict(VerdictKind.Healthy,
            $"the challenger's error rate {Percent(challengerRate)} over {challengerRequests} {calls} vs the champion's {Percent(champion.ErrorRate)}"
            + (championP99 is { } c && challengerP99 is { } x ? $", p99 {x:0.###} ms vs {c:0.###} ms" : ""),
            details);
    }

    /// <summary>A number as text for the timeline and events (invariant culture).</summary>
    public static string Show(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>A count as text.</summary>
    public static string Show(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Percent(double rate) => (rate * 100).ToString("0.##", CultureInfo.InvariantCulture) + " %";
}
