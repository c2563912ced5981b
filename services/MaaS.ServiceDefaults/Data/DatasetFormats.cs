using System.Text;

namespace MaaS.ServiceDefaults.Data;

/// <summary>
/// The dataset formats the mesh stores and trains from, and the one reader for them: whichever the
/// format, a dataset becomes the same <see cref="NumericTable"/>, so the registry's profile and the
/// trainer's matrix never depend on how the file was written.
/// </summary>
public static class DatasetFormats
{
    /// <summary>Comma-separated text with a header row (the default when no format is given).</summary>
    public const string Csv = "csv";

    /// <summary>Apache Parquet with numeric (or boolean) columns.</summary>
    public const string Parquet = "parquet";

    /// <summary>Every accepted format name, lower case.</summary>
    public static IReadOnlyList<string> All { get; } = [Csv, Parquet];

    // Invalid UTF-8 must be refused, not silently turned into replacement characters.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The format a name stands for (empty means csv), or null when it is not one of <see cref="All"/>.</summary>
    public static string? Resolve(string format) => format.Length == 0 ? Csv : All.Contains(format) ? format : null;

    /// <summary>The name people read in sentences: CSV or Parquet.</summary>
    public static string Label(string format) => Resolve(format) == Parquet ? "Parquet" : "CSV";

    /// <summary>Reads a dataset of the given format (empty means csv) into a table.</summary>
    /// <exception cref="FormatException">The content is not such a table, or the format is unknown; the message names the place.</exception>
    public static async Task<NumericTable> ReadAsync(Stream content, string format, CancellationToken cancellationToken = default)
    {
        switch (Resolve(format))
        {
            case Csv:
                string text;
                try
                {
                    using var reader = new StreamReader(content, StrictUtf8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
                    text = await reader.ReadToEndAsync(cancellationToken);
                }
                catch (DecoderFallbackException)
                {
                    throw new FormatException("The CSV is not valid UTF-8 text; a file of numbers with a header row is expected.");
                }
                // A UTF-8 byte order mark is not part of the first column's name.
                return NumericTable.Parse(text.TrimStart('\uFEFF'));
            case Parquet:
                return await ParquetTables.ReadAsync(content, cancellationToken);
            default:
                throw new FormatException($"Dataset format '{format}' is not one of {string.Join(", ", All)}.");
        }
    }

    /// <summary>Reads dataset bytes of the given format (empty means csv) into a table.</summary>
    /// <exception cref="FormatException">The content is not such a table, or the format is unknown.</exception>
    public static async Task<NumericTable> ReadAsync(byte[] content, string format, CancellationToken cancellationToken = default)
    {
        using var stream = new MemoryStream(content, writable: false);
        return await ReadAsync(stream, format, cancellationToken);
    }
}
