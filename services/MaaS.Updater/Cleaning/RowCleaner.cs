using System.Globalization;

namespace MaaS.Updater.Cleaning;

/// <summary>What cleaning kept and why it dropped the rest.</summary>
public sealed record CleaningResult(IReadOnlyList<double[]> Kept, IReadOnlyDictionary<string, long> Dropped)
{
    /// <summary>Reason: a row has fewer or more values than columns.</summary>
    public const string Missing = "missing";
    /// <summary>Reason: a value is NaN or infinite.</summary>
    public const string NotFinite = "not_finite";
    /// <summary>Reason: the same row was already seen (in this batch or waiting for training).</summary>
    public const string Duplicate = "duplicate";
}

/// <summary>
/// Cleans a batch of rows: drops rows with missing or non-finite values and duplicates, and puts the
/// values in the model's column order. Pure: the caller supplies the keys of rows already stored.
/// </summary>
public static class RowCleaner
{
    /// <summary>Cleans <paramref name="rows"/> whose values follow <paramref name="order"/> (canonical index per given column).</summary>
    public static CleaningResult Clean(IReadOnlyList<int> order, IEnumerable<IReadOnlyList<double>> rows, Func<string, bool> alreadyStored)
    {
        var kept = new List<double[]>();
        var dropped = new Dictionary<string, long>
        {
            [CleaningResult.Missing] = 0,
            [CleaningResult.NotFinite] = 0,
            [CleaningResult.Duplicate] = 0,
        };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (row.Count != order.Count)
            {
                dropped[CleaningResult.Missing]++;
                continue;
            }
            if (row.Any(v => !double.IsFinite(v)))
            {
                dropped[CleaningResult.NotFinite]++;
                continue;
            }
            var canonical = new double[row.Count];
            for (var i = 0; i < row.Count; i++)
            {
                canonical[order[i]] = row[i];
            }
            var key = Key(canonical);
            if (!seen.Add(key) || alreadyStored(key))
            {
                dropped[CleaningResult.Duplicate]++;
                continue;
            }
            kept.Add(canonical);
        }
        return new CleaningResult(kept, dropped);
    }

    /// <summary>The identity of a row for duplicate detection: its values, round-trip formatted.</summary>
    public static string Key(IReadOnlyList<double> canonical) =>
        string.Join(',', canonical.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
}
