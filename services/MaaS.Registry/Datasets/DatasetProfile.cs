using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Data;

namespace MaaS.Registry.Datasets;

/// <summary>Schema and per-column statistics of a table, computed once at upload and stored with the version.</summary>
public sealed record DatasetProfile(IReadOnlyList<ColumnSchema> Schema, IReadOnlyList<ColumnStatistics> Statistics)
{
    /// <summary>Integer type name (every finite value is a whole number in the long range).</summary>
    public const string Int64 = "INT64";

    /// <summary>Floating-point type name.</summary>
    public const string Fp64 = "FP64";

    /// <summary>
    /// Profiles each column over its finite values (NaN and infinities are left out of every figure):
    /// count, mean, sample standard deviation (n - 1, Welford's update, stable for large values), min, max.
    /// </summary>
    public static DatasetProfile Of(NumericTable table)
    {
        var schema = new List<ColumnSchema>(table.Columns.Count);
        var statistics = new List<ColumnStatistics>(table.Columns.Count);
        for (var c = 0; c < table.Columns.Count; c++)
        {
            long count = 0;
            double mean = 0, m2 = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
            var whole = true;
            foreach (var row in table.Rows)
            {
                var value = row[c];
                if (!double.IsFinite(value)) continue;
                count++;
                var delta = value - mean;
                mean += delta / count;
                m2 += delta * (value - mean);
                min = Math.Min(min, value);
                max = Math.Max(max, value);
                whole &= Math.Floor(value) == value && value is >= long.MinValue and <= long.MaxValue;
            }
            schema.Add(new ColumnSchema { Name = table.Columns[c], Datatype = count > 0 && whole ? Int64 : Fp64 });
            statistics.Add(new ColumnStatistics
            {
                Name = table.Columns[c],
                Count = count,
                Mean = count > 0 ? mean : 0,
                Std = count > 1 ? Math.Sqrt(m2 / (count - 1)) : 0,
                Min = count > 0 ? min : 0,
                Max = count > 0 ? max : 0,
            });
        }
        return new DatasetProfile(schema, statistics);
    }
}
