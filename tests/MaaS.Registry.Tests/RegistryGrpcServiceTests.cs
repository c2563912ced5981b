using System.Text;
using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.Tests.Stores;
using MaaS.Registry.V1;
using MassTransit.Testing;
using Microsoft.Data.Sqlite;

namespace MaaS.Registry.Tests;

/// <summary>Runs on every metadata store: <see cref="OnSqlite"/> and <see cref="OnPostgres"/> (a real PostgreSQL server).</summary>
public abstract class RegistryGrpcServiceTests(RegistryStore store)
{
    private const string Csv = "x1,x2,y\n1,2,3\n4,5,6.5\n-1,0.25,1e3\n";

    [Fact]
    public async Task CreateModel_TakenName_AlreadyExistsUnlessIfAbsent()
    {
        await using var host = new RegistryHost(store);
        var created = await host.CreateModelAsync("house-prices");

        var error = await Assert.ThrowsAsync<RpcException>(() => host.CreateModelAsync("house-prices"));
        var existing = (await host.Client.CreateModelAsync(new CreateModelRequest { Name = "house-prices", IfAbsent = true })).Model;

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
        Assert.Equal(created.CreatedAt, existing.CreatedAt);
        Assert.Equal("regression", existing.Task);
        Assert.Equal(0, existing.LatestVersion);
    }

    [Fact]
    public async Task CreateModel_UpperCaseName_InvalidArgumentNamingFieldAndRule()
    {
        await using var host = new RegistryHost(store);

        var error = await Assert.ThrowsAsync<RpcException>(() => host.CreateModelAsync("House"));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("name must match ^[a-z0-9][a-z0-9._-]{0,62}$ without '..'", error.Status.Detail);
    }

    [Fact]
    public async Task RegisterVersion_TwoStreamedArtifacts_NumbersThemOneAndTwoAndPublishesEvents()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");
        var first = RegistryHost.Bytes(5000, seed: 1);
        var second = RegistryHost.Bytes(7000, seed: 2);

        var v1 = await host.RegisterAsync("linear", first, lineage: new Lineage { TrainingJobId = "job-42", DatasetName = "houses", DatasetVersion = 3 });
        var v2 = await host.RegisterAsync("linear", second, lineage: new Lineage { ParentVersion = 1 });

        Assert.Equal(1, v1.Version);
        Assert.Equal(2, v2.Version);
        Assert.Equal(RegistryHost.Sha256(first), v1.ArtifactDigest);
        Assert.Equal(7000, v2.ArtifactSize);
        Assert.Equal(VersionStatus.Ready, v1.Status);
        Assert.Equal(0.25, v1.Metrics["train_mse"]);
        Assert.Equal("10", v1.Hyperparameters["epochs"]);
        Assert.Equal("FP32", v1.Inputs[0].Datatype);
        Assert.Equal([-1L, 1L], v1.Inputs[0].Shape);
        Assert.Equal("job-42", v1.Lineage.TrainingJobId);
        Assert.Equal(1, v2.Lineage.ParentVersion);

        var listed = (await host.Client.ListVersionsAsync(new ListVersionsRequest { ModelName = "linear" })).Versions;
        Assert.Equal([1L, 2L], listed.Select(v => v.Version));
        var model = (await host.Client.GetModelAsync(new GetModelRequest { Name = "linear" })).Model;
        Assert.Equal(2, model.LatestVersion);

        Assert.True(await host.Harness.Published.Any<ModelVersionRegistered>(m =>
            m.Context.Message.Version == 1 && m.Context.Message.TrainingJobId == "job-42" && m.Context.Message.CorrelationId == "job-42"
            && m.Context.Message.ArtifactDigest == v1.ArtifactDigest));
        Assert.True(await host.Harness.Published.Any<ModelVersionRegistered>(m =>
            m.Context.Message.ModelName == "linear" && m.Context.Message.Version == 2 && m.Context.Message.ArtifactSize == 7000));
    }

    [Fact]
    public async Task RegisterVersion_SameTrainingJobTwice_ReturnsTheFirstVersionWithoutANewOne()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");
        var artifact = RegistryHost.Bytes(5000, seed: 1);

        var first = await host.RegisterAsync("linear", artifact, lineage: new Lineage { TrainingJobId = "job-7" });
        var again = await host.RegisterAsync("linear", artifact, lineage: new Lineage { TrainingJobId = "job-7" });
        var other = await host.RegisterAsync("linear", artifact, lineage: new Lineage { TrainingJobId = "job-8" });

        Assert.Equal((1L, 1L, 2L), (first.Version, again.Version, other.Version));
        var listed = (await host.Client.ListVersionsAsync(new ListVersionsRequest { ModelName = "linear" })).Versions;
        Assert.Equal([1L, 2L], listed.Select(v => v.Version));
        Assert.Single(host.OutboxEvents<ModelVersionRegistered>(), e => e.TrainingJobId == "job-7");
    }

    [Fact]
    public async Task RegisterVersion_DigestMismatch_InvalidArgumentAndNoVersionCreated()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");
        var artifact = RegistryHost.Bytes(3000, seed: 3);
        var declared = RegistryHost.Sha256(RegistryHost.Bytes(3000, seed: 4));

        var error = await Assert.ThrowsAsync<RpcException>(() => host.RegisterAsync("linear", artifact, declared));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(declared, error.Status.Detail);
        Assert.Contains(RegistryHost.Sha256(artifact), error.Status.Detail);
        var versions = (await host.Client.ListVersionsAsync(new ListVersionsRequest { ModelName = "linear" })).Versions;
        Assert.Empty(versions);
        Assert.False(File.Exists(host.BlobPath(RegistryHost.Sha256(artifact))));
    }

    [Fact]
    public async Task RegisterVersion_UnknownModel_NotFound()
    {
        await using var host = new RegistryHost(store);

        var error = await Assert.ThrowsAsync<RpcException>(() => host.RegisterAsync("ghost", RegistryHost.Bytes(10, seed: 5)));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("'ghost'", error.Status.Detail);
    }

    [Fact]
    public async Task RegisterVersion_ChunkBeforeManifest_InvalidArgument()
    {
        await using var host = new RegistryHost(store);
        using var call = host.Client.RegisterVersion();

        await call.RequestStream.WriteAsync(new RegisterVersionRequest { Chunk = Google.Protobuf.ByteString.CopyFrom(1, 2, 3) });
        await call.RequestStream.CompleteAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("first message", error.Status.Detail);
    }

    [Fact]
    public async Task RegisterVersion_UnknownDatatypeOrBadDimension_InvalidArgumentNamingTensor()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");
        var artifact = RegistryHost.Bytes(10, seed: 6);
        var badType = new VersionManifest { ModelName = "linear", ArtifactDigest = RegistryHost.Sha256(artifact) };
        badType.Inputs.Add(new TensorSpec { Name = "x", Datatype = "FLOAT", Shape = { -1, 1 } });
        var badDim = new VersionManifest { ModelName = "linear", ArtifactDigest = RegistryHost.Sha256(artifact) };
        badDim.Outputs.Add(new TensorSpec { Name = "y", Datatype = "FP32", Shape = { -2 } });

        var typeError = await Assert.ThrowsAsync<RpcException>(() => host.RegisterAsync(badType, artifact));
        var dimError = await Assert.ThrowsAsync<RpcException>(() => host.RegisterAsync(badDim, artifact));

        Assert.Equal(StatusCode.InvalidArgument, typeError.StatusCode);
        Assert.Contains("manifest.inputs[0].datatype", typeError.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, dimError.StatusCode);
        Assert.Contains("manifest.outputs[0].shape[0]", dimError.Status.Detail);
    }

    [Fact]
    public async Task RegisterVersion_ArtifactOverLimit_ResourceExhausted()
    {
        await using var host = new RegistryHost(store, settings: new Dictionary<string, string> { ["Registry:MaxArtifactBytes"] = "4096" });
        await host.CreateModelAsync("linear");

        var error = await Assert.ThrowsAsync<RpcException>(() => host.RegisterAsync("linear", RegistryHost.Bytes(5000, seed: 7)));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("Registry:MaxArtifactBytes", error.Status.Detail);
    }

    [Fact]
    public async Task DownloadArtifact_RegisteredVersion_ReturnsIdenticalBytesInChunks()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("mlp");
        var artifact = RegistryHost.Bytes(200_000, seed: 8);
        await host.RegisterAsync("mlp", artifact, chunkBytes: 30_000);

        var (version, bytes, chunks) = await host.DownloadArtifactAsync("mlp", 1);

        Assert.Equal(1, version.Version);
        Assert.Equal(artifact, bytes);
        Assert.Equal(4, chunks); // 64 KiB pieces
    }

    [Fact]
    public async Task DownloadArtifact_TamperedBlob_DataLoss()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("mlp");
        var artifact = RegistryHost.Bytes(1000, seed: 9);
        var version = await host.RegisterAsync("mlp", artifact);
        artifact[500] ^= 0x01;
        await File.WriteAllBytesAsync(host.BlobPath(version.ArtifactDigest), artifact);

        var error = await Assert.ThrowsAsync<RpcException>(() => host.DownloadArtifactAsync("mlp", 1));

        Assert.Equal(StatusCode.DataLoss, error.StatusCode);
        Assert.Contains(version.ArtifactDigest, error.Status.Detail);
    }

    [Fact]
    public async Task SetAlias_MovedTwice_GetVersionFollowsAliasAndAliasMovedCarriesFromAndTo()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");
        await host.RegisterAsync("linear", RegistryHost.Bytes(100, seed: 10));
        await host.RegisterAsync("linear", RegistryHost.Bytes(100, seed: 11), lineage: new Lineage { TrainingJobId = "job-7" });

        var first = await host.Client.SetAliasAsync(new SetAliasRequest { ModelName = "linear", Alias = "production", Version = 1, Actor = "ops", Reason = "first release" });
        var second = await host.Client.SetAliasAsync(new SetAliasRequest { ModelName = "linear", Alias = "production", Version = 2, Actor = "updater", Reason = "challenger won" });
        var resolved = (await host.Client.GetVersionAsync(new GetVersionRequest { ModelName = "linear", Alias = "production" })).Version;
        var model = (await host.Client.GetModelAsync(new GetModelRequest { Name = "linear" })).Model;

        Assert.Equal(0, first.PreviousVersion);
        Assert.Equal(1, second.PreviousVersion);
        Assert.Equal(2, resolved.Version);
        Assert.Equal(2, model.Aliases["production"]);
        Assert.True(await host.Harness.Published.Any<AliasMoved>(m =>
            m.Context.Message.Alias == "production" && m.Context.Message.FromVersion == 0 && m.Context.Message.ToVersion == 1));
        Assert.True(await host.Harness.Published.Any<AliasMoved>(m =>
            m.Context.Message.ModelName == "linear" && m.Context.Message.FromVersion == 1 && m.Context.Message.ToVersion == 2
            && m.Context.Message.Actor == "updater" && m.Context.Message.Reason == "challenger won" && m.Context.Message.CorrelationId == "job-7"));
    }

    [Fact]
    public async Task SetAlias_SameTargetAgain_RecordsNoSecondMove()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");
        await host.RegisterAsync("linear", RegistryHost.Bytes(100, seed: 12));
        var request = new SetAliasRequest { ModelName = "linear", Alias = "staging", Version = 1, Actor = "ops", Reason = "try" };

        await host.Client.SetAliasAsync(request);
        var again = await host.Client.SetAliasAsync(request);

        Assert.Equal(1, again.PreviousVersion);
        Assert.Equal(1, host.Count("SELECT COUNT(*) FROM alias_history;"));
        Assert.Equal(1, host.Count("SELECT COUNT(*) FROM outbox WHERE message_type = 'MaaS.Contracts.AliasMoved';"));
    }

    [Fact]
    public async Task SetAlias_UnknownVersion_NotFound()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.SetAliasAsync(new SetAliasRequest { ModelName = "linear", Alias = "production", Version = 3 }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("no version 3", error.Status.Detail);
    }

    [Fact]
    public async Task GetVersion_UnknownAlias_NotFoundNamingAlias()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.GetVersionAsync(new GetVersionRequest { ModelName = "linear", Alias = "canary" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("'canary'", error.Status.Detail);
    }

    [Fact]
    public async Task UploadDataset_Csv_GetAndDownloadRoundTrip()
    {
        await using var host = new RegistryHost(store);
        var content = Encoding.UTF8.GetBytes(Csv);

        var uploaded = await host.UploadDatasetAsync("houses", content, digest: RegistryHost.Sha256(content));
        var latest = (await host.Client.GetDatasetAsync(new GetDatasetRequest { Name = "houses" })).Dataset;
        var (downloaded, bytes) = await host.DownloadDatasetAsync("houses", 0);

        Assert.Equal(1, uploaded.Version);
        Assert.Equal(3, uploaded.RowCount);
        Assert.Equal(["x1", "x2", "y"], uploaded.Columns);
        Assert.Equal("csv", uploaded.Format);
        Assert.Equal(content.Length, uploaded.Size);
        Assert.Equal(uploaded, latest);
        Assert.Equal(uploaded, downloaded);
        Assert.Equal(content, bytes);
    }

    [Fact]
    public async Task UploadDataset_SameContentTwice_NewVersionSharingOneBlob()
    {
        await using var host = new RegistryHost(store);
        var content = Encoding.UTF8.GetBytes(Csv);

        var first = await host.UploadDatasetAsync("houses", content);
        var second = await host.UploadDatasetAsync("houses", content);
        var older = (await host.Client.GetDatasetAsync(new GetDatasetRequest { Name = "houses", Version = 1 })).Dataset;

        Assert.Equal(2, second.Version);
        Assert.Equal(first.Digest, second.Digest);
        Assert.Equal(first, older);
        Assert.Single(Directory.GetFiles(Path.Combine(host.DataDirectory, "blobs", "sha256"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task UploadDataset_ParquetStringColumn_InvalidArgumentWithReaderSentence()
    {
        await using var host = new RegistryHost(store);
        var x = new Parquet.Schema.DataField<double>("x");
        var city = new Parquet.Schema.DataField<string>("city");
        var bytes = await ParquetFiles.WriteAsync(new Parquet.Schema.ParquetSchema(x, city), async g =>
        {
            await g.WriteAsync<double>(x, new[] { 1.0 });
            await g.WriteAsync(city, new[] { "Derby" });
        });

        await Expect.Status(StatusCode.InvalidArgument, () => host.UploadDatasetAsync("towns", bytes, format: "parquet"),
            "The dataset is not a numeric Parquet table: Parquet column 'city' holds text values, not numbers");
        await Expect.Status(StatusCode.NotFound, () => host.Client.GetDatasetAsync(new GetDatasetRequest { Name = "towns" }).ResponseAsync);
    }

    [Fact]
    public async Task UploadDataset_CsvBytesDeclaredParquet_InvalidArgumentNotParquet()
    {
        await using var host = new RegistryHost(store);

        await Expect.Status(StatusCode.InvalidArgument,
            () => host.UploadDatasetAsync("houses", Encoding.UTF8.GetBytes(Csv), format: "parquet"),
            "The dataset is not a numeric Parquet table: The file is not a readable Parquet file");
    }

    [Theory]
    [InlineData("xlsx")]
    [InlineData("CSV")]
    public async Task UploadDataset_UnknownFormat_InvalidArgumentNamingFormatAndAllowedValues(string format)
    {
        await using var host = new RegistryHost(store);

        await Expect.Status(StatusCode.InvalidArgument,
            () => host.UploadDatasetAsync("houses", Encoding.UTF8.GetBytes(Csv), format: format),
            "manifest.format must be one of 'csv', 'parquet'", $"it is '{format}'");
    }

    [Fact]
    public async Task UploadDataset_NonNumericCell_InvalidArgumentWithParserSentence()
    {
        await using var host = new RegistryHost(store);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.UploadDatasetAsync("houses", Encoding.UTF8.GetBytes("x,y\n1,2\n3,abc\n")));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("CSV line 3, column 'y': 'abc' is not a number.", error.Status.Detail);
        var missing = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.GetDatasetAsync(new GetDatasetRequest { Name = "houses" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Outbox_BrokerAwayWhenVersionRegistered_EventPublishedAfterRestart()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("maas-registry-outbox-").FullName;
        try
        {
            await using (var away = new RegistryHost(store, dataDirectory, dispatchOutbox: false))
            {
                await away.CreateModelAsync("linear");
                await away.RegisterAsync("linear", RegistryHost.Bytes(100, seed: 13), lineage: new Lineage { TrainingJobId = "job-9" });
                Assert.Equal(1, away.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND message_type = 'MaaS.Contracts.ModelVersionRegistered';"));
            }

            await using var back = new RegistryHost(store, dataDirectory);
            Assert.True(await back.Harness.Published.Any<ModelVersionRegistered>(m =>
                m.Context.Message.ModelName == "linear" && m.Context.Message.TrainingJobId == "job-9"));
        }
        finally
        {
            store.Release(dataDirectory);
            SqliteConnection.ClearAllPools();
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    /// <summary>On SQLite.</summary>
    public sealed class OnSqlite() : RegistryGrpcServiceTests(RegistryStore.Sqlite);

    /// <summary>On PostgreSQL.</summary>
    [Collection(PostgresCollection.Name)]
    public sealed class OnPostgres(PostgresServer server) : RegistryGrpcServiceTests(server);
}
