using System.Globalization;
using System.Text;
using MaaS.ServiceDefaults.Data;
using MaaS.Updater.Cleaning;

namespace MaaS.Updater.Ingestion;

/// <summary>An uploaded file as a header and rows.</summary>
public sealed record RowFile(IReadOnlyList<string> Columns, IReadOnlyList<IngestRow> Rows);

/// <summary>
/// Reads uploaded CSV and Parquet files into rows for cleaning. Unlike the registry's strict reader, a
/// CSV line that is short, long or holds a word is one bad row (reported), not a bad file; only a file
/// that is not a table at all (no header, not UTF-8, not Parquet) is refused as a whole.
/// </summary>
public static class RowFiles
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads a csv or parquet file.</summary>
    /// <exception cref="FormatException">The file is not such a table; the message says why.</exception>
    public static async Task<RowFile> ReadAsync(byte[] content, string format, CancellationToken ct)
    {
        if (format == DatasetFormats.Parquet)
        {
            // Parquet columns are typed: a value is a number or the file is refused by the shared reader.
            var table = await DatasetFormats.ReadAsync(content, DatasetFormats.Parquet, ct);
            return new RowFile(table.Columns, table.Rows.Select(IngestRow.Of).ToList());
        }
        string text;
        try
        {
            text = StrictUtf8.GetString(content);
        }
        catch (DecoderFallbackException)
        {
            throw new FormatException("The CSV is not valid UTF-8 text; a file of numbers with a header row is expected.");
        }
        return ReadCsv(text.TrimStart('\uFEFF'));
    }

    /// <summary>Reads CSV text: a header of unique names, then one row per non-blank line.</summary>
    /// <exception cref="FormatException">No header, an empty or repeated column name.</exception>
    public static RowFile ReadCsv(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        if (lines.Length == 0 || string.IsNullOrWhiteSpace(lines[0])) throw new FormatException("The CSV has no header row.");
        var columns = lines[0].Split(',').Select(c => c.Trim()).ToArray();
        if (columns.Any(string.IsNullOrEmpty)) throw new FormatException("The CSV header has an empty column name.");
        var repeated = columns.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new FormatException($"The CSV header names column '{repeated.Key}' twice.");

        var rows = new List<IngestRow>(lines.Length);
        for (var n = 1; n < lines.Length; n++)
        {
            if (string.IsNullOrWhiteSpace(lines[n])) continue;
            var cells = lines[n].Split(',');
            if (cells.Length != columns.Length)
            {
                rows.Add(new IngestRow([], CleaningResult.WrongColumnCount));
                continue;
            }
            var values = new double?[cells.Length];
            string? problem = null, column = "";
            for (var c = 0; c < cells.Length; c++)
            {
                var cell = cells[c].Trim();
                if (cell.Length == 0) continue;
                if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    values[c] = value;
                }
                else if (problem is null)
                {
                    (problem, column) = (CleaningResult.NotNumeric, columns[c]);
                }
            }
            rows.Add(new IngestRow(values, problem, column));
        }
        return new RowFile(columns, rows);
    }
}
