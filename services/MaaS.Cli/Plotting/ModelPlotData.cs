using System.Globalization;
using System.Text.RegularExpressions;
using Grpc.Core;
using MaaS.Cli.Framework;
using MaaS.Registry.V1;
using MaaS.Updater.V1;

namespace MaaS.Cli.Plotting;

/// <summary>The traffic split at one moment: version → percent of the calls.</summary>
public sealed record TrafficPoint(DateTimeOffset At, IReadOnlyDictionary<long, double> Shares);

/// <summary>What `maas models plot` draws: a metric per version, and the traffic share per version over time.</summary>
public sealed partial record ModelPlotData(string Model, string? Metric, IReadOnlyList<(long Version, double Value)> MetricPoints,
    IReadOnlyList<TrafficPoint> Traffic, string TrafficSource)
{
    /// <summary>Metrics tried in this order when --metric is not given.</summary>
    public static readonly string[] PreferredMetrics = ["val_mse", "train_mse", "val_loss", "train_loss"];

    /// <summary>Timeline kinds that move traffic during a rollout.</summary>
    public static readonly string[] RolloutKinds = ["rollout_step", "rolled_back", "rollout_completed", "rollout_aborted", "rollout_started"];

    /// <summary>One line saying what was drawn.</summary>
    public string Summary =>
        (Metric is null ? "no version has metrics" : $"{Metric} for {MetricPoints.Count} version(s)") +
        (Traffic.Count == 0 ? "; no rollout traffic to draw" : $"; traffic share at {Traffic.Count} moment(s) from {TrafficSource}");

    /// <summary>Loads the versions, the rollout and the timeline (or, without rollout entries, the deployment history).</summary>
    public static async Task<ModelPlotData> LoadAsync(CliContext context, string model, string? metric)
    {
        var registry = context.Registry;
        var (versions, _) = await Paging.AllAsync(async (token, size) =>
        {
            var page = await registry.ListVersionsAsync(new ListVersionsRequest { ModelName = model, PageSize = size, PageToken = token }, cancellationToken: context.Cancellation);
            return (page.Versions.AsEnumerable(), page.NextPageToken);
        }, 100_000);
        var chosen = ChooseMetric(versions, metric, model);
        var points = chosen is null
            ? []
            : versions.Where(v => v.Metrics.ContainsKey(chosen)).Select(v => (v.Version, v.Metrics[chosen])).ToList();

        var rollout = await Optional(async () => (await context.Updater.GetRolloutAsync(new GetRolloutRequest { ModelName = model }, cancellationToken: context.Cancellation)).Rollout);
        var timeline = await Optional(async () => (await context.Updater.ExplainModelAsync(new ExplainModelRequest { ModelName = model }, cancellationToken: context.Cancellation)).Entries.ToList());
        var traffic = FromTimeline(timeline ?? [], rollout, DateTimeOffset.UtcNow);
        if (traffic.Count > 0) return new ModelPlotData(model, chosen, points, traffic, "the rollout timeline");

        var history = await Optional(async () => (await registry.GetDeploymentHistoryAsync(new GetDeploymentHistoryRequest { ModelName = model }, cancellationToken: context.Cancellation)).Deployments.ToList());
        return new ModelPlotData(model, chosen, points, FromDeployments(history ?? []), "the deployment history");
    }

    /// <summary>The metric to draw: the one asked for (which some version must have), else the first preferred one present.</summary>
    public static string? ChooseMetric(IReadOnlyCollection<ModelVersion> versions, string? asked, string model)
    {
        var present = versions.SelectMany(v => v.Metrics.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (asked is not null)
        {
            return present.Contains(asked)
                ? asked
                : throw new CliFailure("InvalidArgument", $"no version of {model} has the metric '{asked}' (they have: {Output.List(present)})", ExitCodes.Invalid);
        }
        return PreferredMetrics.FirstOrDefault(present.Contains) ?? present.FirstOrDefault();
    }

    /// <summary>
    /// The traffic split after each rollout entry of the timeline. The numbers come from the entry's details
    /// (challenger_percent, champion_version, challenger_version), else from the rollout itself and the "NN %" of its sentence;
    /// a rollback or abort returns everything to the champion, a completion gives everything to the challenger.
    /// </summary>
    public static List<TrafficPoint> FromTimeline(IEnumerable<TimelineEntry> entries, Rollout? rollout, DateTimeOffset now)
    {
        var points = new List<TrafficPoint>();
        long champion = 0, challenger = 0;
        foreach (var entry in entries.Where(e => RolloutKinds.Contains(e.Kind)))
        {
            champion = Long(entry, "champion_version") ?? (champion > 0 ? champion : rollout?.ChampionVersion ?? 0);
            challenger = Long(entry, "challenger_version") ?? Long(entry, "version") ?? (challenger > 0 ? challenger : rollout?.ChallengerVersion ?? 0);
            double? percent = entry.Kind switch
            {
                "rolled_back" or "rollout_aborted" => 0,
                "rollout_completed" => 100,
                _ => Double(entry, "challenger_percent") ?? Double(entry, "percent") ?? Double(entry, "traffic_percent") ?? FromSentence(entry.Summary),
            };
            if (percent is not { } p || champion <= 0 || challenger <= 0) continue;
            points.Add(Split(entry.At.ToDateTimeOffset(), champion, challenger, p));
        }
        // A running rollout holds its current split until now.
        if (points.Count > 0 && rollout is { EndedAt: null } running && champion > 0 && challenger > 0)
        {
            points.Add(Split(now, champion, challenger, running.ChallengerPercent));
        }
        return points;
    }

    /// <summary>The split of each deployment revision, oldest first.</summary>
    public static List<TrafficPoint> FromDeployments(IEnumerable<Deployment> revisions) =>
        revisions.Where(d => d.Entries.Count > 0 && d.CreatedAt is not null).OrderBy(d => d.Revision)
            .Select(d => new TrafficPoint(d.CreatedAt.ToDateTimeOffset(),
                d.Entries.GroupBy(e => e.Version).ToDictionary(g => g.Key, g => (double)g.Sum(e => e.Weight))))
            .ToList();

    private static TrafficPoint Split(DateTimeOffset at, long champion, long challenger, double challengerPercent) =>
        new(at, champion == challenger
            ? new Dictionary<long, double> { [challenger] = 100 }
            : new Dictionary<long, double> { [champion] = 100 - challengerPercent, [challenger] = challengerPercent });

    private static long? Long(TimelineEntry entry, string key) =>
        entry.Details.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static double? Double(TimelineEntry entry, string key) =>
        entry.Details.TryGetValue(key, out var text) && double.TryParse(text.TrimEnd('%', ' '), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static double? FromSentence(string summary)
    {
        var match = PercentPattern().Match(summary);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>The updater may be down or the model may have no rollout: the chart then simply has less in it.</summary>
    private static async Task<T?> Optional<T>(Func<Task<T>> call) where T : class
    {
        try
        {
            return await call();
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unimplemented or StatusCode.Unavailable or StatusCode.FailedPrecondition)
        {
            return null;
        }
    }

    [GeneratedRegex(@"(\d{1,3}(?:\.\d+)?)\s?%")]
    private static partial Regex PercentPattern();
}
