using System.Text;
using MaaS.ServiceDefaults.Data;
using Parquet.Schema;

namespace MaaS.Registry.Tests;

/// <summary>The mesh's one dataset reader (ServiceDefaults): CSV and Parquet into the same table.</summary>
public sealed class DatasetFormatsTests
{
    [Fact]
    public async Task ReadAsync_ParquetOfEveryNumericType_ColumnsAsDoublesBoolAsZeroOne()
    {
        var i = new DataField<int>("i");
        var l = new DataField<long>("l");
        var f = new DataField<float>("f");
        var d = new DataField<double>("d");
        var b = new DataField<bool>("b");
        var bytes = await ParquetFiles.WriteAsync(new ParquetSchema(i, l, f, d, b), async g =>
        {
            await g.WriteAsync<int>(i, new[] { -3, 7 });
            await g.WriteAsync<long>(l, new[] { 1L << 40, 0 });
            await g.WriteAsync<float>(f, new[] { 0.25f, -1.5f });
            await g.WriteAsync<double>(d, new[] { Math.PI, double.NaN });
            await g.WriteAsync<bool>(b, new[] { true, false });
        });

        var table = await DatasetFormats.ReadAsync(bytes, DatasetFormats.Parquet);

        Assert.Equal(["i", "l", "f", "d", "b"], table.Columns);
        Assert.Equal([-3, 1L << 40, 0.25, Math.PI, 1], table.Rows[0]);
        Assert.Equal([7, 0, -1.5, double.NaN, 0], table.Rows[1]);
    }

    [Fact]
    public async Task ReadAsync_ParquetNullableWithoutNullsInTwoRowGroups_AllRowsInOrder()
    {
        var x = new DataField<double?>("x");
        var bytes = await ParquetFiles.WriteAsync(new ParquetSchema(x),
            g => g.WriteAsync<double>(x, new double?[] { 1, 2 }),
            g => g.WriteAsync<double>(x, new double?[] { 3 }));

        var table = await DatasetFormats.ReadAsync(bytes, "parquet");

        Assert.Equal([1.0, 2.0, 3.0], table.Rows.Select(r => r[0]));
    }

    [Fact]
    public async Task WriteAsync_Table_ReadsBackEqualToTheCsv()
    {
        var source = NumericTable.Parse("x,y\n1,0.1\n2.5,-3e-7\n");

        var table = await DatasetFormats.ReadAsync(await ParquetTables.WriteAsync(source), DatasetFormats.Parquet);

        Assert.Equal(source.ToCsv(), table.ToCsv());
    }

    [Fact]
    public async Task ReadAsync_ParquetStringColumn_FormatExceptionNamingIt()
    {
        var x = new DataField<double>("x");
        var city = new DataField<string>("city");
        var bytes = await ParquetFiles.WriteAsync(new ParquetSchema(x, city), async g =>
        {
            await g.WriteAsync<double>(x, new[] { 1.0 });
            await g.WriteAsync(city, new[] { "Derby" });
        });

        var ex = await Assert.ThrowsAsync<FormatException>(() => DatasetFormats.ReadAsync(bytes, "parquet"));

        Assert.Contains("Parquet column 'city' holds text values, not numbers", ex.Message);
    }

    [Fact]
    public async Task ReadAsync_ParquetNull_FormatExceptionNamingColumnAndRow()
    {
        var x = new DataField<long?>("x");
        var bytes = await ParquetFiles.WriteAsync(new ParquetSchema(x),
            g => g.WriteAsync<long>(x, new long?[] { 1 }),
            g => g.WriteAsync<long>(x, new long?[] { 2, null }));

        var ex = await Assert.ThrowsAsync<FormatException>(() => DatasetFormats.ReadAsync(bytes, "parquet"));

        Assert.Equal("Parquet column 'x' has a null in row 3; every value must be present.", ex.Message);
    }

    [Fact]
    public async Task ReadAsync_ParquetWithoutRows_FormatException()
    {
        var x = new DataField<double>("x");
        var bytes = await ParquetFiles.WriteAsync(new ParquetSchema(x));

        var ex = await Assert.ThrowsAsync<FormatException>(() => DatasetFormats.ReadAsync(bytes, "parquet"));

        Assert.Equal("The Parquet file has no rows.", ex.Message);
    }

    [Theory]
    [InlineData(0, "The Parquet file is empty.")]
    [InlineData(64, "The file is not a readable Parquet file")]
    public async Task ReadAsync_NotParquetBytes_FormatException(int length, string expected)
    {
        var ex = await Assert.ThrowsAsync<FormatException>(() => DatasetFormats.ReadAsync(RegistryHost.Bytes(length, 3), "parquet"));

        Assert.StartsWith(expected, ex.Message);
    }

    [Fact]
    public async Task ReadAsync_CsvWithByteOrderMark_SameTableAsWithout()
    {
        var table = await DatasetFormats.ReadAsync(Encoding.UTF8.GetBytes("\uFEFFx,y\n1,2\n"), "");

        Assert.Equal(["x", "y"], table.Columns);
        Assert.Equal([1.0, 2.0], table.Rows[0]);
    }

    [Fact]
    public async Task ReadAsync_CsvInvalidUtf8_FormatException()
    {
        var ex = await Assert.ThrowsAsync<FormatException>(() => DatasetFormats.ReadAsync([0x78, 0x0A, 0xFF, 0x0A], "csv"));

        Assert.Contains("not valid UTF-8", ex.Message);
    }

    [Fact]
    public async Task ReadAsync_UnknownFormat_FormatExceptionListingTheFormats()
    {
        var ex = await Assert.ThrowsAsync<FormatException>(() => DatasetFormats.ReadAsync([1], "xlsx"));

        Assert.Equal("Dataset format 'xlsx' is not one of csv, parquet.", ex.Message);
    }
}
