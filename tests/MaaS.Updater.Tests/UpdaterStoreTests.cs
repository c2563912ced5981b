using MaaS.Contracts;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Outbox;
using MaaS.Updater.Storage;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Tests;

public sealed class UpdaterStoreTests : IDisposable
{
    private static readonly string[] Columns = ["x", "y"];
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "maas-updater-store-" + Guid.NewGuid().ToString("N"));
    private readonly UpdaterDatabase database;
    private readonly UpdaterStore store;

    public UpdaterStoreTests()
    {
        database = new UpdaterDatabase(Options.Create(new MeshHostOptions { GrpcPort = 1, DataDirectory = dataDirectory }));
        store = new UpdaterStore(database, new OutboxSignal(), Options.Create(new UpdaterOptions()));
    }

    [Fact]
    public void TryReserveRows_BelowThreshold_ReservesNothing()
    {
        Record(5);

        Assert.Null(store.TryReserveRows("m", threshold: 10, "job-1", championVersion: 1, Columns));
        Assert.Equal(5, store.GetStatus("m").RowsSinceTraining);
    }

    [Fact]
    public void TryReserveRows_ThresholdReached_TakesAllWaitingRowsOnce()
    {
        Record(10);

        var rows = store.TryReserveRows("m", threshold: 10, "job-1", championVersion: 1, Columns);

        Assert.Equal(10, rows!.Count);
        Assert.Equal(0, store.GetStatus("m").RowsSinceTraining);
        Assert.True(store.GetStatus("m").Retraining);
    }

    [Fact]
    public void TryReserveRows_RetrainingInFlight_DebouncesSecondOne()
    {
        Record(10);
        store.TryReserveRows("m", threshold: 10, "job-1", championVersion: 1, Columns);
        Record(10, offset: 100);

        Assert.Null(store.TryReserveRows("m", threshold: 10, "job-2", championVersion: 1, Columns));
    }

    [Fact]
    public void FailRetrain_AfterReserve_RowsCountAgainAndEndsRetraining()
    {
        Record(10);
        store.TryReserveRows("m", threshold: 10, "job-1", championVersion: 1, Columns);

        Assert.True(store.FailRetrain("job-1", "training Failed: boom"));

        var status = store.GetStatus("m");
        Assert.Equal(10, status.RowsSinceTraining);
        Assert.False(status.Retraining);
    }

    [Fact]
    public void RecordBatch_WritesDataIngestedToOutbox()
    {
        Record(3);

        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT message_type FROM outbox WHERE sent_at IS NULL";
        Assert.Equal(typeof(DataIngested).FullName, cmd.ExecuteScalar());
    }

    private void Record(int count, int offset = 0)
    {
        var rows = Enumerable.Range(offset, count).Select(i => ($"{i},{2 * i + 1}", new double[] { i, 2 * i + 1 })).ToList();
        store.RecordBatch("m", rows, datasetVersion: 1, new DataIngested { ModelName = "m", RowsIn = count, RowsKept = count });
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
    }
}
