using System.Text;
using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.Tests.Stores;
using MaaS.Registry.V1;

namespace MaaS.Registry.Tests;

/// <summary>Runs on every metadata store: <see cref="OnSqlite"/> and <see cref="OnPostgres"/> (a real PostgreSQL server).</summary>
public abstract class DatasetCatalogTests(RegistryStore store)
{
    [Fact]
    public async Task UploadDataset_Csv_SchemaAndColumnStatisticsComputed()
    {
        await using var host = new RegistryHost(store);

        var dataset = await host.UploadDatasetAsync("points", Encoding.UTF8.GetBytes("a,b,c\n1,0.5,NaN\n2,1.5,4\n3,2.5,Infinity\n"));
        var fetched = (await host.Client.GetDatasetAsync(new GetDatasetRequest { Name = "points" })).Dataset;

        Assert.Equal([("a", "INT64"), ("b", "FP64"), ("c", "INT64")], dataset.Schema.Select(c => (c.Name, c.Datatype)));
        var a = dataset.Statistics[0];
        Assert.Equal(("a", 3L, 2.0, 1.0, 3.0), (a.Name, a.Count, a.Mean, a.Min, a.Max));
        Assert.Equal(1.0, a.Std, 12);
        var b = dataset.Statistics[1];
        Assert.Equal((1.5, 0.5, 2.5), (b.Mean, b.Min, b.Max));
        Assert.Equal(1.0, b.Std, 12);
        var c = dataset.Statistics[2]; // NaN and infinities are left out
        Assert.Equal((1L, 4.0, 0.0, 4.0, 4.0), (c.Count, c.Mean, c.Std, c.Min, c.Max));
        Assert.Equal(dataset, fetched);
    }

    [Fact]
    public async Task UploadDataset_Parquet_StoredAsIsWithFormatSchemaRowCountAndStatisticsOfTheEquivalentCsv()
    {
        await using var host = new RegistryHost(store);
        var parquet = await ParquetFiles.MixedAsync();

        var dataset = await host.UploadDatasetAsync("mixed", parquet, digest: RegistryHost.Sha256(parquet), format: "parquet");
        var csv = await host.UploadDatasetAsync("mixed-csv", Encoding.UTF8.GetBytes("a,b,c\n1,0.5,1\n2,1.5,0\n3,2.5,1\n"));
        var fetched = (await host.Client.GetDatasetAsync(new GetDatasetRequest { Name = "mixed" })).Dataset;
        var (downloaded, bytes) = await host.DownloadDatasetAsync("mixed", 1);

        Assert.Equal(("parquet", 3L, parquet.Length), (dataset.Format, dataset.RowCount, dataset.Size));
        Assert.Equal(["a", "b", "c"], dataset.Columns);
        Assert.Equal([("a", "INT64"), ("b", "FP64"), ("c", "INT64")], dataset.Schema.Select(c => (c.Name, c.Datatype)));
        Assert.Equal(csv.Schema, dataset.Schema);
        Assert.Equal(csv.Statistics, dataset.Statistics);
        Assert.Equal((3L, 2.0 / 3, 0.0, 1.0), (dataset.Statistics[2].Count, dataset.Statistics[2].Mean, dataset.Statistics[2].Min, dataset.Statistics[2].Max));
        Assert.Equal(dataset, fetched);
        Assert.Equal(dataset, downloaded);
        Assert.Equal(parquet, bytes);
    }

    [Fact]
    public async Task UploadDataset_Stored_DatasetVersionCreatedWrittenWithSchema()
    {
        await using var host = new RegistryHost(store);

        var dataset = await host.UploadDatasetAsync("points", Encoding.UTF8.GetBytes("x,y\n1,2.5\n"));

        var evt = Assert.Single(host.OutboxEvents<DatasetVersionCreated>());
        Assert.Equal(("points", 1L, dataset.Digest, 1L), (evt.DatasetName, evt.Version, evt.Digest, evt.RowCount));
        Assert.Equal([("x", "INT64"), ("y", "FP64")], evt.Schema.Select(s => (s.Name, s.Datatype)));
        Assert.True(await host.Harness.Published.Any<DatasetVersionCreated>(m => m.Context.Message.DatasetName == "points"));
    }

    [Fact]
    public async Task ListDatasets_NoName_LatestVersionOfEachByNameInPages()
    {
        await using var host = new RegistryHost(store);
        var csv = Encoding.UTF8.GetBytes("x\n1\n");
        await host.UploadDatasetAsync("beta", csv);
        await host.UploadDatasetAsync("alpha", csv);
        await host.UploadDatasetAsync("beta", Encoding.UTF8.GetBytes("x\n1\n2\n"));
        await host.UploadDatasetAsync("gamma", csv);

        var first = await host.Client.ListDatasetsAsync(new ListDatasetsRequest { PageSize = 2 });
        var second = await host.Client.ListDatasetsAsync(new ListDatasetsRequest { PageSize = 2, PageToken = first.NextPageToken });
        var prefixed = await host.Client.ListDatasetsAsync(new ListDatasetsRequest { NamePrefix = "be" });

        Assert.Equal([("alpha", 1L), ("beta", 2L)], first.Datasets.Select(d => (d.Name, d.Version)));
        Assert.Equal([("gamma", 1L)], second.Datasets.Select(d => (d.Name, d.Version)));
        Assert.Equal("", second.NextPageToken);
        Assert.Equal([("beta", 2L)], prefixed.Datasets.Select(d => (d.Name, d.Version)));
    }

    [Fact]
    public async Task ListDatasets_Name_ItsVersionsOldestFirst()
    {
        await using var host = new RegistryHost(store);
        for (var i = 1; i <= 3; i++)
        {
            await host.UploadDatasetAsync("points", Encoding.UTF8.GetBytes($"x\n{i}\n"));
        }

        var first = await host.Client.ListDatasetsAsync(new ListDatasetsRequest { Name = "points", PageSize = 2 });
        var second = await host.Client.ListDatasetsAsync(new ListDatasetsRequest { Name = "points", PageSize = 2, PageToken = first.NextPageToken });

        Assert.Equal([1L, 2L], first.Datasets.Select(d => d.Version));
        Assert.Equal([3L], second.Datasets.Select(d => d.Version));
    }

    [Fact]
    public async Task ListDatasets_UnknownName_NotFound()
    {
        await using var host = new RegistryHost(store);

        await Expect.Status(StatusCode.NotFound,
            () => host.Client.ListDatasetsAsync(new ListDatasetsRequest { Name = "ghost" }).ResponseAsync, "Dataset 'ghost' does not exist");
    }

    [Fact]
    public async Task ListDatasets_NameAndPrefix_InvalidArgument()
    {
        await using var host = new RegistryHost(store);

        await Expect.Status(StatusCode.InvalidArgument,
            () => host.Client.ListDatasetsAsync(new ListDatasetsRequest { Name = "a", NamePrefix = "a" }).ResponseAsync, "not both");
    }

    /// <summary>On SQLite.</summary>
    public sealed class OnSqlite() : DatasetCatalogTests(RegistryStore.Sqlite);

    /// <summary>On PostgreSQL.</summary>
    [Collection(PostgresCollection.Name)]
    public sealed class OnPostgres(PostgresServer server) : DatasetCatalogTests(server);
}
