using System.Text.Json;
using MaaS.Cli.Framework;
using ScottPlot;
using SkiaSharp;

namespace MaaS.Cli.Plotting;

/// <summary>What the plot commands share: where the file goes, how panels are stacked into one PNG, what is printed.</summary>
public static class Plots
{
    /// <summary>Width of a chart in pixels.</summary>
    public const int Width = 1000;

    /// <summary>Height of one panel in pixels.</summary>
    public const int PanelHeight = 450;

    /// <summary>Checks the target before any call: a .png name in a folder that exists.</summary>
    public static string ValidateTarget(string path)
    {
        if (!path.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out must name a .png file, not '{path}'");
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is null || !Directory.Exists(folder)) throw new UsageException($"--out: the folder '{folder}' does not exist");
        return path;
    }

    /// <summary>Stacks the panels vertically into one PNG and returns its size in bytes.</summary>
    public static long Save(IReadOnlyList<Plot> panels, string path)
    {
        using var surface = SKSurface.Create(new SKImageInfo(Width, PanelHeight * panels.Count)) ??
            throw new InvalidOperationException("could not create a drawing surface");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        for (var i = 0; i < panels.Count; i++)
        {
            canvas.Save();
            canvas.Translate(0, i * PanelHeight);
            canvas.ClipRect(new SKRect(0, 0, Width, PanelHeight));
            panels[i].Render(canvas, Width, PanelHeight);
            canvas.Restore();
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        using (var file = File.Create(path))
        {
            png.SaveTo(file);
        }
        return new FileInfo(path).Length;
    }

    /// <summary>Tells where the chart went: a line for people, a small JSON object for scripts.</summary>
    public static void Report(CliContext context, long bytes, string path, string summary)
    {
        if (context.Json)
        {
            context.Out.WriteLine(JsonSerializer.Serialize(new { file = Path.GetFullPath(path), bytes, summary }, new JsonSerializerOptions { WriteIndented = true }));
            return;
        }
        context.Say($"wrote {path} ({bytes} bytes): {summary}");
    }
}
