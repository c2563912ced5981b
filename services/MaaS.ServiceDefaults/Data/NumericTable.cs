using System.Globalization;
using System.Text;

namespace MaaS.ServiceDefaults.Data;

/// <summary>
/// A CSV file of numbers with a header row: the dataset format the trainer reads and the updater
/// writes. Parsing names the line and column of the first bad value.
/// </summary>
public sealed class NumericTable
{
    /// <summary>Creates a table; every row must have one value per column.</summary>
    public NumericTable(IReadOnlyList<string> columns, IReadOnlyList<double[]> rows)
    {
        Columns = columns;
        Rows = rows;
        foreach (var row in rows)
        {
            if (row.Length != columns.Count)
            {
                throw new ArgumentException($"A row has {row.Length} values for {columns.Count} columns.", nameof(rows));
            }
        }
    }

    /// <summary>Column names in file order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Rows of values in column order.</summary>
    public IReadOnlyList<double[]> Rows { get; }

    /// <summary>Index of a column, or -1.</summary>
    public int IndexOf(string column)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (Columns[i] == column) return i;
        }
        return -1;
    }

    /// <summary>Parses CSV text: a header of unique names, then rows of invariant-culture numbers.</summary>
    /// <exception cref="FormatException">The text is not such a table; the message names the place.</exception>
    public static NumericTable Parse(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        if (lines.Length == 0 || string.IsNullOrWhiteSpace(lines[0]))
        {
            throw new FormatException("The CSV has no header row.");
        }
        var columns = lines[0].Split(',').Select(c => c.Trim()).ToArray();
        if (columns.Any(string.IsNullOrEmpty))
        {
            throw new FormatException("The CSV header has an empty column name.");
        }
        var duplicate = columns.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new FormatException($"The CSV header names column '{duplicate.Key}' twice.");
        }
        var rows = new List<double[]>(lines.Length);
        for (var n = 1; n < lines.Length; n++)
        {
            if (string.IsNullOrWhiteSpace(lines[n])) continue;
            var cells = lines[n].Split(',');
            if (cells.Length != columns.Length)
            {
                throw new FormatException($"CSV line {n + 1} has {cells.Length} values; the header has {columns.Length} columns.");
            }
            var row = new double[cells.Length];
            for (var c = 0; c < cells.Length; c++)
            {
                if (!double.TryParse(cells[c].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out row[c]))
                {
                    throw new FormatException($"CSV line {n + 1}, column '{columns[c]}': '{cells[c].Trim()}' is not a number.");
                }
            }
            rows.Add(row);
        }
        return new NumericTable(columns, rows);
    }

    /// <summary>Writes the table as CSV with a header row; numbers round-trip exactly.</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder();
        sb.AppendJoin(',', Columns).Append('\n');
        foreach (var row in Rows)
        {
            for (var c = 0; c < row.Length; c++)
            {
                if (c > 0) sb.Append(',');
                sb.Append(row[c].ToString("R", CultureInfo.InvariantCulture));
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The chosen columns as a row-major FP32 matrix, the layout ONNX and torch take.</summary>
    public float[] ToFloatMatrix(IReadOnlyList<string> columns)
    {
        var indexes = columns.Select(c => IndexOf(c) is var i and >= 0 ? i
            : throw new ArgumentException($"Column '{c}' is not in the table ({string.Join(", ", Columns)}).", nameof(columns))).ToArray();
        var result = new float[Rows.Count * indexes.Length];
        for (var r = 0; r < Rows.Count; r++)
        {
            for (var c = 0; c < indexes.Length; c++)
            {
                result[r * indexes.Length + c] = (float)Rows[r][indexes[c]];
            }
        }
        return result;
    }
}
