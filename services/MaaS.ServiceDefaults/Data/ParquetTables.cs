using Parquet;
using Parquet.Schema;

namespace MaaS.ServiceDefaults.Data;

/// <summary>
/// Parquet datasets as <see cref="NumericTable"/>s: every top-level column must be int32, int64, float,
/// double or boolean (read as 0/1) without nulls, and the file must hold at least one row.
/// </summary>
public static class ParquetTables
{
    /// <summary>Reads a Parquet file (a non-seekable stream is buffered first) into a table.</summary>
    /// <exception cref="FormatException">The content is not such a file; the message names the column (and row) at fault.</exception>
    public static async Task<NumericTable> ReadAsync(Stream content, CancellationToken cancellationToken = default)
    {
        if (!content.CanSeek)
        {
            var buffered = new MemoryStream();
            await content.CopyToAsync(buffered, cancellationToken);
            buffered.Position = 0;
            content = buffered;
        }
        if (content.Length - content.Position == 0)
        {
            throw new FormatException("The Parquet file is empty.");
        }

        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(content, leaveStreamOpen: true, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The bytes are untrusted: whatever the library trips on in a damaged footer is the uploader's
            // mistake to be told about, not a server error.
            throw new FormatException($"The file is not a readable Parquet file ({ex.Message.TrimEnd('.')}).");
        }
        await using (reader)
        {
            var fields = NumericFields(reader.Schema);
            long total = 0;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                total += group.RowCount;
            }
            if (total == 0)
            {
                throw new FormatException("The Parquet file has no rows.");
            }
            if (total > Array.MaxLength)
            {
                throw new FormatException($"The Parquet file has {total} rows, more than one table can hold.");
            }

            var columns = fields.Select(_ => new double[total]).ToArray();
            var offset = 0;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var count = checked((int)group.RowCount);
                for (var c = 0; c < fields.Length; c++)
                {
                    var target = columns[c].AsMemory(offset, count);
                    try
                    {
                        await ReadColumnAsync(group, fields[c], target, offset, cancellationToken);
                    }
                    catch (Exception ex) when (ex is not (FormatException or OperationCanceledException))
                    {
                        throw new FormatException($"Parquet column '{fields[c].Name}' cannot be read in row group {g + 1} ({ex.Message.TrimEnd('.')}).");
                    }
                }
                offset += count;
            }

            var rows = new double[total][];
            for (var r = 0; r < rows.Length; r++)
            {
                var row = new double[fields.Length];
                for (var c = 0; c < fields.Length; c++) row[c] = columns[c][r];
                rows[r] = row;
            }
            return new NumericTable(fields.Select(f => f.Name).ToArray(), rows);
        }
    }

    /// <summary>Writes a table as a Parquet file of non-nullable double columns in one row group.</summary>
    public static async Task<byte[]> WriteAsync(NumericTable table, CancellationToken cancellationToken = default)
    {
        var fields = table.Columns.Select(c => new DataField<double>(c)).ToArray();
        using var output = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), output, cancellationToken: cancellationToken))
        {
            using var group = writer.CreateRowGroup();
            for (var c = 0; c < fields.Length; c++)
            {
                var values = new double[table.Rows.Count];
                for (var r = 0; r < values.Length; r++) values[r] = table.Rows[r][c];
                await group.WriteAsync<double>(fields[c], values, cancellationToken: cancellationToken);
            }
            group.CompleteValidate();
        }
        return output.ToArray();
    }

    private static DataField[] NumericFields(ParquetSchema schema)
    {
        if (schema.Fields.Count == 0)
        {
            throw new FormatException("The Parquet file has no columns.");
        }
        var fields = new List<DataField>(schema.Fields.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in schema.Fields)
        {
            if (field is not DataField data || data.IsArray)
            {
                throw new FormatException(
                    $"Parquet column '{field.Name}' is a {field.SchemaType.ToString().ToLowerInvariant()} column, not a number; only int32, int64, float, double and boolean columns can be read.");
            }
            if (!IsNumeric(data.ClrType))
            {
                throw new FormatException(
                    $"Parquet column '{field.Name}' holds {Describe(data.ClrType)} values, not numbers; only int32, int64, float, double and boolean columns can be read.");
            }
            if (!names.Add(field.Name))
            {
                throw new FormatException($"The Parquet file names column '{field.Name}' twice.");
            }
            fields.Add(data);
        }
        return [.. fields];
    }

    // Parquet.Net hands text and binary out as memory types; people know them as text and binary.
    private static string Describe(Type type) =>
        type == typeof(string) || type == typeof(ReadOnlyMemory<char>) ? "text"
        : type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>) ? "binary"
        : type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(DateOnly) || type == typeof(TimeOnly) || type == typeof(TimeSpan) ? "date/time"
        : type.Name.ToLowerInvariant();

    private static bool IsNumeric(Type type) =>
        type == typeof(int) || type == typeof(long) || type == typeof(float) || type == typeof(double) || type == typeof(bool);

    private static Task ReadColumnAsync(ParquetRowGroupReader group, DataField field, Memory<double> target, int firstRow,
        CancellationToken cancellationToken) => field.ClrType switch
    {
        var t when t == typeof(int) => ReadValuesAsync<int>(group, field, target, firstRow, v => v, cancellationToken),
        var t when t == typeof(long) => ReadValuesAsync<long>(group, field, target, firstRow, v => v, cancellationToken),
        var t when t == typeof(float) => ReadValuesAsync<float>(group, field, target, firstRow, v => v, cancellationToken),
        var t when t == typeof(double) => ReadValuesAsync<double>(group, field, target, firstRow, v => v, cancellationToken),
        _ => ReadValuesAsync<bool>(group, field, target, firstRow, v => v ? 1 : 0, cancellationToken),
    };

    private static async Task ReadValuesAsync<T>(ParquetRowGroupReader group, DataField field, Memory<double> target, int firstRow,
        Func<T, double> convert, CancellationToken cancellationToken) where T : struct
    {
        if (field.IsNullable)
        {
            var values = new T?[target.Length];
            await group.ReadAsync<T>(field, values.AsMemory(), cancellationToken: cancellationToken);
            var span = target.Span;
            for (var i = 0; i < values.Length; i++)
            {
                span[i] = values[i] is { } v ? convert(v)
                    : throw new FormatException($"Parquet column '{field.Name}' has a null in row {firstRow + i + 1}; every value must be present.");
            }
        }
        else
        {
            var values = new T[target.Length];
            await group.ReadAsync<T>(field, values.AsMemory(), cancellationToken: cancellationToken);
            var span = target.Span;
            for (var i = 0; i < values.Length; i++) span[i] = convert(values[i]);
        }
    }
}
