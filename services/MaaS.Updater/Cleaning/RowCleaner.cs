using System.Globalization;
using MaaS.Updater.V1;

namespace MaaS.Updater.Cleaning;

/// <summary>One row as received: values in the batch's column order (null = missing), or what made it unreadable.</summary>
/// <param name="Values">Values; an entry is null when the cell was empty.</param>
/// <param name="Problem">A reason found while reading (not_numeric, wrong_column_count), or null.</param>
/// <param name="Column">The column of that problem, when one.</param>
public sealed record IngestRow(double?[] Values, string? Problem = null, string Column = "")
{
    /// <summary>A row of numbers.</summary>
    public static IngestRow Of(IReadOnlyList<double> values) => new(values.Select(v => (double?)v).ToArray());
}

/// <summary>What cleaning kept, why it dropped the rest (counts per reason), and the first issues row by row.</summary>
public sealed record CleaningResult(IReadOnlyList<double[]> Kept, IReadOnlyDictionary<string, long> Dropped, IReadOnlyList<RowIssue> Issues)
{
    /// <summary>Reason: a value is empty.</summary>
    public const string Missing = "missing";
    /// <summary>Reason: a value is NaN or infinite.</summary>
    public const string NotFinite = "not_finite";
    /// <summary>Reason: a value is outside the policy's range for its column.</summary>
    public const string OutOfRange = "out_of_range";
    /// <summary>Reason: the same row was already seen (in this batch or stored before).</summary>
    public const string Duplicate = "duplicate";
    /// <summary>Reason: a row has fewer or more values than columns.</summary>
    public const string WrongColumnCount = "wrong_column_count";
    /// <summary>Reason: a value is not a number.</summary>
    public const string NotNumeric = "not_numeric";

    /// <summary>Every reason, in the order they are checked.</summary>
    public static readonly string[] Reasons = [WrongColumnCount, NotNumeric, Missing, NotFinite, OutOfRange, Duplicate];
}

/// <summary>
/// Cleans a batch of rows: drops rows that could not be read or have the wrong number of values, rows
/// with missing, non-finite or out-of-range values, and duplicates, and puts the values in the model's
/// column order. A bad row is reported, never fatal. Pure: the caller supplies the keys of rows already stored.
/// </summary>
public static class RowCleaner
{
    /// <summary>Issues reported row by row (the counts cover every row).</summary>
    public const int MaxIssues = 100;

    /// <summary>Cleans <paramref name="rows"/> whose values follow <paramref name="columns"/>; <paramref name="order"/> gives each one's canonical index.</summary>
    /// <param name="order">Canonical index of each given column.</param>
    /// <param name="columns">The given column names (for issues and ranges).</param>
    /// <param name="rows">The rows, in batch order.</param>
    /// <param name="ranges">Declared inclusive ranges per column name.</param>
    /// <param name="alreadyStored">Whether a canonical row key is stored already.</param>
    public static CleaningResult Clean(IReadOnlyList<int> order, IReadOnlyList<string> columns, IEnumerable<IngestRow> rows,
        IReadOnlyDictionary<string, ValueRange> ranges, Func<string, bool> alreadyStored)
    {
        var kept = new List<double[]>();
        var dropped = CleaningResult.Reasons.ToDictionary(r => r, _ => 0L);
        var issues = new List<RowIssue>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var bounds = columns.Select(c => ranges.TryGetValue(c, out var r) ? r : null).ToArray();
        long index = -1;
        foreach (var row in rows)
        {
            index++;
            var (reason, column) = Check(row, order.Count, columns, bounds);
            if (reason is null)
            {
                var canonical = new double[order.Count];
                for (var i = 0; i < order.Count; i++) canonical[order[i]] = row.Values[i]!.Value;
                var key = Key(canonical);
                if (seen.Add(key) && !alreadyStored(key))
                {
                    kept.Add(canonical);
                    continue;
                }
                reason = CleaningResult.Duplicate;
            }
            dropped[reason]++;
            if (issues.Count < MaxIssues) issues.Add(new RowIssue { Row = index, Reason = reason, Column = column });
        }
        return new CleaningResult(kept, dropped, issues);
    }

    /// <summary>Cleans rows of numbers given in the canonical order's permutation <paramref name="order"/>, without ranges.</summary>
    public static CleaningResult Clean(IReadOnlyList<int> order, IEnumerable<IReadOnlyList<double>> rows, Func<string, bool> alreadyStored) =>
        Clean(order, order.Select(i => $"c{i}").ToArray(), rows.Select(IngestRow.Of), new Dictionary<string, ValueRange>(), alreadyStored);

    /// <summary>The identity of a row for duplicate detection: its values, round-trip formatted.</summary>
    public static string Key(IReadOnlyList<double> canonical) =>
        string.Join(',', canonical.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static (string? Reason, string Column) Check(IngestRow row, int width, IReadOnlyList<string> columns, ValueRange?[] bounds)
    {
        if (row.Problem is not null) return (row.Problem, row.Column);
        if (row.Values.Length != width) return (CleaningResult.WrongColumnCount, "");
        for (var i = 0; i < width; i++)
        {
            if (row.Values[i] is null) return (CleaningResult.Missing, columns[i]);
        }
        for (var i = 0; i < width; i++)
        {
            if (!double.IsFinite(row.Values[i]!.Value)) return (CleaningResult.NotFinite, columns[i]);
        }
        for (var i = 0; i < width; i++)
        {
            if (bounds[i] is { } range && (row.Values[i] < range.Min || row.Values[i] > range.Max)) return (CleaningResult.OutOfRange, columns[i]);
        }
        return (null, "");
    }
}
