using MaaS.Cli.Framework;
using ScottPlot;

namespace MaaS.Cli.Plotting;

/// <summary>Draws <see cref="ModelPlotData"/>: the metric per version on top, the traffic share per version over time below.</summary>
public static class ModelPlot
{
    /// <summary>Writes the PNG; returns its size in bytes.</summary>
    public static long Write(ModelPlotData data, string path)
    {
        var panels = new List<Plot> { MetricPanel(data) };
        if (data.Traffic.Count > 0) panels.Add(TrafficPanel(data));
        return Plots.Save(panels, path);
    }

    private static Plot MetricPanel(ModelPlotData data)
    {
        var plot = new Plot();
        if (data.MetricPoints.Count > 0)
        {
            var line = plot.Add.Scatter(data.MetricPoints.Select(p => (double)p.Version).ToArray(), data.MetricPoints.Select(p => p.Value).ToArray());
            line.LegendText = data.Metric!;
            line.LineWidth = 2;
            line.MarkerSize = 9;
            plot.ShowLegend(Alignment.UpperRight);
            // Versions are whole numbers: one tick each.
            var versions = data.MetricPoints.Select(p => p.Version).Distinct().Order().ToArray();
            if (versions.Length <= 40)
            {
                plot.Axes.Bottom.SetTicks(versions.Select(v => (double)v).ToArray(), versions.Select(v => $"v{v}").ToArray());
            }
        }
        plot.Title(data.Metric is null ? $"{data.Model}: no version has metrics" : $"{data.Model}: {data.Metric} per version");
        plot.XLabel("version");
        plot.YLabel(data.Metric ?? "metric");
        return plot;
    }

    private static Plot TrafficPanel(ModelPlotData data)
    {
        var plot = new Plot();
        var start = data.Traffic[0].At;
        var versions = data.Traffic.SelectMany(p => p.Shares.Keys).Distinct().Order().ToList();
        foreach (var version in versions)
        {
            // A share holds until the next change: draw steps, not slopes.
            var xs = new List<double>();
            var ys = new List<double>();
            for (var i = 0; i < data.Traffic.Count; i++)
            {
                var x = (data.Traffic[i].At - start).TotalSeconds;
                var y = data.Traffic[i].Shares.GetValueOrDefault(version);
                if (i > 0)
                {
                    xs.Add(x);
                    ys.Add(ys[^1]);
                }
                xs.Add(x);
                ys.Add(y);
            }
            var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray());
            line.LegendText = $"v{version}";
            line.LineWidth = 3;
        }
        plot.Axes.SetLimitsY(-5, 105);
        plot.Title($"{data.Model}: traffic share per version ({data.TrafficSource}, from {Output.Time(Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(start))})");
        plot.XLabel("seconds since the first change");
        plot.YLabel("share of calls (%)");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }
}
