using System.Text;
using Google.Protobuf;
using Grpc.Core;
using MaaS.ServiceDefaults.Data;
using MaaS.Updater.Tests.Support;
using MaaS.Updater.V1;

namespace MaaS.Updater.Tests;

public sealed class IngestionTests : IDisposable
{
    private readonly UpdaterHost host = new();

    public IngestionTests()
    {
        host.Registry.AddLinear("m", 1, 2, 1);
    }

    private static Row R(params double[] values)
    {
        var row = new Row();
        row.Values.Add(values);
        return row;
    }

    private async Task SetPolicy(Action<Policy>? change = null)
    {
        var policy = new Policy { ModelName = "m", RetrainAfterRows = 1000, HoldoutFraction = 0.2 };
        change?.Invoke(policy);
        await host.Client.SetPolicyAsync(new SetPolicyRequest { Policy = policy });
    }

    [Fact]
    public async Task IngestRows_MixedBatch_KeepsGoodRowsAndReportsEachReasonRowByRow()
    {
        await SetPolicy(p => p.ColumnRanges["x"] = new ValueRange { Min = 0, Max = 100 });
        var request = new IngestRowsRequest
        {
            ModelName = "m",
            Columns = { "y", "x" },
            Rows = { R(3, 1), R(double.NaN, 2), R(5, 2, 9), R(7, -4), R(3, 1), R(11, 5) },
        };

        var report = (await host.Client.IngestRowsAsync(request)).Report;

        Assert.Equal((6L, 2L), (report.RowsIn, report.RowsKept));
        Assert.Equal(1, report.RowsDropped["not_finite"]);
        Assert.Equal(1, report.RowsDropped["wrong_column_count"]);
        Assert.Equal(1, report.RowsDropped["out_of_range"]);
        Assert.Equal(1, report.RowsDropped["duplicate"]);
        Assert.Equal(0, report.RowsDropped["missing"]);
        Assert.Equal(
            [(1L, "not_finite", "y"), (2L, "wrong_column_count", ""), (3L, "out_of_range", "x"), (4L, "duplicate", "")],
            report.Issues.Select(i => (i.Row, i.Reason, i.Column)));
        // Stored in the model's column order (x, y).
        var upload = host.Registry.Uploads.Single();
        Assert.Equal(("m-ingested", 1L), (upload.Dataset.Name, upload.Dataset.Version));
        Assert.Equal(["x", "y"], upload.Table.Columns);
        Assert.Equal([[1.0, 3.0], [5.0, 11.0]], upload.Table.Rows);
        Assert.Equal(("m-ingested", 1L, 2L), (report.DatasetName, report.DatasetVersion, report.RowsSinceTraining));
    }

    [Fact]
    public async Task IngestRows_RowAlreadyStored_DuplicateInNextBatch()
    {
        await SetPolicy();
        await host.Client.IngestRowsAsync(new IngestRowsRequest { ModelName = "m", Columns = { "x", "y" }, Rows = { R(1, 3) } });

        var report = (await host.Client.IngestRowsAsync(new IngestRowsRequest { ModelName = "m", Columns = { "x", "y" }, Rows = { R(1, 3), R(2, 5) } })).Report;

        Assert.Equal(1, report.RowsDropped["duplicate"]);
        Assert.Equal(2, report.RowsSinceTraining);
    }

    [Fact]
    public async Task IngestRows_ManyBadRows_ReportsFirstHundredIssuesAndCountsAll()
    {
        await SetPolicy();
        var request = new IngestRowsRequest { ModelName = "m", Columns = { "x", "y" } };
        for (var i = 0; i < 150; i++) request.Rows.Add(R(i));

        var report = (await host.Client.IngestRowsAsync(request)).Report;

        Assert.Equal(150, report.RowsDropped["wrong_column_count"]);
        Assert.Equal(100, report.Issues.Count);
        Assert.Equal(0, report.RowsKept);
        Assert.Empty(host.Registry.Uploads);
    }

    [Fact]
    public async Task IngestRows_WithoutLabel_StoredAsInputsNotCountedForTraining()
    {
        await SetPolicy();

        var report = (await host.Client.IngestRowsAsync(new IngestRowsRequest { ModelName = "m", Columns = { "x" }, Rows = { R(1), R(2) } })).Report;

        Assert.Equal(2, report.RowsKept);
        Assert.Equal("m-unlabelled", report.DatasetName);
        Assert.Equal(0, report.RowsSinceTraining);
        Assert.False(report.RetrainTriggered);
        Assert.Contains("not training data", report.TriggerReason);
    }

    [Fact]
    public async Task IngestRows_FeedbackWithoutLabel_InvalidArgument()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Client.IngestRowsAsync(
            new IngestRowsRequest { ModelName = "m", Columns = { "x" }, Rows = { R(1) }, Feedback = true }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("feedback", ex.Status.Detail);
    }

    [Fact]
    public async Task IngestRows_UnknownColumn_InvalidArgumentNamingColumns()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Client.IngestRowsAsync(
            new IngestRowsRequest { ModelName = "m", Columns = { "x", "z" }, Rows = { R(1, 2) } }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("columns", ex.Status.Detail);
    }

    [Fact]
    public async Task IngestRows_UnknownModel_NotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Client.IngestRowsAsync(
            new IngestRowsRequest { ModelName = "nobody", Columns = { "x", "y" }, Rows = { R(1, 2) } }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task IngestRows_Batch_TimelineHasDataIngestedWithNumbers()
    {
        await SetPolicy();
        await host.Client.IngestRowsAsync(new IngestRowsRequest { ModelName = "m", Columns = { "x", "y" }, Rows = { R(1, 3), R(2, double.PositiveInfinity) } });

        var entry = Assert.Single((await host.Client.ExplainModelAsync(new ExplainModelRequest { ModelName = "m" })).Entries);

        Assert.Equal("data_ingested", entry.Kind);
        Assert.Equal(("2", "1", "1"), (entry.Details["rows_in"], entry.Details["rows_kept"], entry.Details["dropped_not_finite"]));
        Assert.Contains("DataIngested", string.Join(",", host.Outbox().Select(m => m.Type)));
    }

    [Fact]
    public async Task UploadRows_CsvWithBadLines_ReportsEachRowAndKeepsTheRest()
    {
        await SetPolicy();
        var csv = "x,y\n1,3\n2,abc\n3,\n4,9,1\n\n5,11\n";

        var report = await Upload("csv", Encoding.UTF8.GetBytes(csv), chunk: 5);

        Assert.Equal((5L, 2L), (report.RowsIn, report.RowsKept));
        Assert.Equal(
            [(1L, "not_numeric", "y"), (2L, "missing", "y"), (3L, "wrong_column_count", "")],
            report.Issues.Select(i => (i.Row, i.Reason, i.Column)));
        Assert.Equal([[1.0, 3.0], [5.0, 11.0]], host.Registry.Uploads.Single().Table.Rows);
    }

    [Fact]
    public async Task UploadRows_Parquet_KeepsRowsLikeCsv()
    {
        await SetPolicy();
        var table = new NumericTable(["y", "x"], [[3, 1], [5, 2], [double.NaN, 3]]);
        var bytes = await ParquetTables.WriteAsync(table);

        var report = await Upload("parquet", bytes, chunk: 100);

        Assert.Equal((3L, 2L), (report.RowsIn, report.RowsKept));
        Assert.Equal(1, report.RowsDropped["not_finite"]);
        Assert.Equal([[1.0, 3.0], [2.0, 5.0]], host.Registry.Uploads.Single().Table.Rows);
    }

    [Fact]
    public async Task UploadRows_UnknownFormat_InvalidArgumentNamingFormat()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Upload("xlsx", [1, 2, 3], chunk: 10));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("format", ex.Status.Detail);
    }

    [Fact]
    public async Task UploadRows_NotParquet_InvalidArgument()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Upload("parquet", Encoding.UTF8.GetBytes("x,y\n1,2\n"), chunk: 10));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("Parquet", ex.Status.Detail);
    }

    private async Task<IngestReport> Upload(string format, byte[] bytes, int chunk)
    {
        using var call = host.Client.UploadRows();
        await call.RequestStream.WriteAsync(new UploadRowsRequest { ModelName = "m", Format = format });
        for (var offset = 0; offset < bytes.Length; offset += chunk)
        {
            await call.RequestStream.WriteAsync(new UploadRowsRequest { Chunk = ByteString.CopyFrom(bytes, offset, Math.Min(chunk, bytes.Length - offset)) });
        }
        await call.RequestStream.CompleteAsync();
        return (await call.ResponseAsync).Report;
    }

    public void Dispose() => host.Dispose();
}
