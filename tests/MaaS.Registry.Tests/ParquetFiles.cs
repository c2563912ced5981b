using Parquet;
using Parquet.Schema;

namespace MaaS.Registry.Tests;

/// <summary>Parquet files of any column types for tests, written with Parquet.Net: one callback per row group.</summary>
public static class ParquetFiles
{
    /// <summary>Writes a file with <paramref name="schema"/>; each callback writes one row group's columns in schema order.</summary>
    public static async Task<byte[]> WriteAsync(ParquetSchema schema, params Func<ParquetRowGroupWriter, Task>[] rowGroups)
    {
        using var output = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(schema, output))
        {
            foreach (var writeGroup in rowGroups)
            {
                using var group = writer.CreateRowGroup();
                await writeGroup(group);
            }
        }
        return output.ToArray();
    }

    /// <summary>Columns a (int64), b (double) and c (bool) holding the rows (1, 0.5, true), (2, 1.5, false), (3, 2.5, true).</summary>
    public static Task<byte[]> MixedAsync()
    {
        var a = new DataField<long>("a");
        var b = new DataField<double>("b");
        var c = new DataField<bool>("c");
        return WriteAsync(new ParquetSchema(a, b, c), async g =>
        {
            await g.WriteAsync<long>(a, new long[] { 1, 2, 3 });
            await g.WriteAsync<double>(b, new[] { 0.5, 1.5, 2.5 });
            await g.WriteAsync<bool>(c, new[] { true, false, true });
        });
    }
}
