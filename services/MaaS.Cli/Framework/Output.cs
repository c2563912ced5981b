using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MaaS.Cli.Framework;

/// <summary>How results look: protobuf JSON for scripts, plain tables for people.</summary>
public static class Output
{
    // Defaults are written too, so a script finds every field of the message whether or not it is set.
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation());

    /// <summary>The message as indented protobuf JSON (field names in lowerCamelCase, enums by name).</summary>
    public static string Json(IMessage message) => Formatter.Format(message);

    /// <summary>The message as one JSON line (for streams: one line per message).</summary>
    public static string JsonLine(IMessage message) => JsonFormatter.Default.Format(message);

    /// <summary>A table with these headers; cells are plain text (no markup is interpreted).</summary>
    public static Table Table(params string[] headers)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var header in headers) table.AddColumn(new TableColumn(new Text(header)));
        return table;
    }

    /// <summary>Adds a row of plain-text cells.</summary>
    public static Table Row(this Table table, params string[] cells)
    {
        table.AddRow(cells.Select(c => (IRenderable)new Text(c)).ToArray());
        return table;
    }

    /// <summary>A two-column field/value table for one object.</summary>
    public static Table Fields(params (string Name, string Value)[] fields)
    {
        var table = new Table().Border(TableBorder.None).HideHeaders();
        table.AddColumn(new TableColumn(new Text("field")));
        table.AddColumn(new TableColumn(new Text("value")));
        foreach (var (name, value) in fields) table.Row(name, value);
        return table;
    }

    /// <summary>A number as people read it (invariant culture, 6 significant digits).</summary>
    public static string Number(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>A whole number.</summary>
    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A UTC time, or "-" when unset.</summary>
    public static string Time(Timestamp? at) =>
        at is null ? "-" : at.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A duration as h:mm:ss or m:ss, or "-" when unset.</summary>
    public static string Span(Duration? duration)
    {
        if (duration is null) return "-";
        var span = duration.ToTimeSpan();
        return span.TotalHours >= 1 ? span.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : span.ToString(@"m\:ss", CultureInfo.InvariantCulture);
    }

    /// <summary>A map as "a=1, b=2", sorted by key.</summary>
    public static string Map<T>(IDictionary<string, T> map, Func<T, string> show) =>
        map.Count == 0 ? "-" : string.Join(", ", map.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={show(p.Value)}"));

    /// <summary>A list, or "-" when empty.</summary>
    public static string List(IEnumerable<string> values)
    {
        var text = string.Join(", ", values);
        return text.Length == 0 ? "-" : text;
    }

    /// <summary>Empty text shown as "-".</summary>
    public static string OrDash(string? text) => string.IsNullOrEmpty(text) ? "-" : text;
}
