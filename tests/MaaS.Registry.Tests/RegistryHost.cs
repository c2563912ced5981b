using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using MaaS.Registry.Tests.Stores;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Outbox;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MaaS.Registry.Tests;

/// <summary>
/// The registry hosted in-process on a temporary data folder, with MassTransit's test harness in place of
/// the broker, and a gRPC client over a real channel.
/// </summary>
public sealed class RegistryHost : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;
    private readonly GrpcChannel _channel;
    private readonly bool _ownsDataDirectory;
    private readonly RegistryStore _store;

    /// <summary>Starts a host on SQLite; pass <paramref name="dataDirectory"/> to reuse another host's state.</summary>
    public RegistryHost(string? dataDirectory = null, bool dispatchOutbox = true, IDictionary<string, string>? settings = null,
        TimeProvider? clock = null)
        : this(RegistryStore.Sqlite, dataDirectory, dispatchOutbox, settings, clock)
    {
    }

    /// <summary>Starts a host on <paramref name="store"/>; pass <paramref name="dataDirectory"/> to reuse another host's state.</summary>
    public RegistryHost(RegistryStore store, string? dataDirectory = null, bool dispatchOutbox = true,
        IDictionary<string, string>? settings = null, TimeProvider? clock = null)
    {
        _store = store;
        _ownsDataDirectory = dataDirectory is null;
        DataDirectory = dataDirectory ?? Directory.CreateTempSubdirectory("maas-registry-tests-").FullName;
        var storeSettings = store.Settings(DataDirectory);
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Bus:Transport", "InMemory");
            builder.UseSetting("Mesh:GrpcPort", "1");
            builder.UseSetting("Mesh:DataDirectory", DataDirectory);
            foreach (var (key, value) in storeSettings.Concat(settings ?? new Dictionary<string, string>()))
            {
                builder.UseSetting(key, value);
            }
            builder.ConfigureTestServices(services =>
            {
                services.AddMassTransitTestHarness();
                if (clock is not null)
                {
                    // The registry stamps every change with this clock, so a test can place changes at known times.
                    services.AddSingleton(clock);
                }
                if (!dispatchOutbox)
                {
                    // Stands for a broker that is away: events must wait in the outbox.
                    var dispatcher = services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(OutboxDispatcher));
                    services.Remove(dispatcher);
                }
            });
        });
        _channel = GrpcChannel.ForAddress(_factory.Server.BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = _factory.Server.CreateHandler(),
        });
        Client = new RegistryService.RegistryServiceClient(_channel);
    }

    /// <summary>The service's data folder.</summary>
    public string DataDirectory { get; }

    /// <summary>Client of the hosted registry.</summary>
    public RegistryService.RegistryServiceClient Client { get; }

    /// <summary>The bus test harness (published events).</summary>
    public ITestHarness Harness => _factory.Services.GetTestHarness();

    /// <summary>Path of the SQLite file.</summary>
    public string DatabasePath => Path.Combine(DataDirectory, "registry.db");

    /// <summary>Path of a stored blob.</summary>
    public string BlobPath(string digest) => Path.Combine(DataDirectory, "blobs", "sha256", digest[..2], digest);

    /// <summary>Creates a model.</summary>
    public async Task<Model> CreateModelAsync(string name) =>
        (await Client.CreateModelAsync(new CreateModelRequest { Name = name, Task = "regression" })).Model;

    /// <summary>Creates a model with <paramref name="versions"/> registered versions (distinct artifacts).</summary>
    public async Task CreateModelWithVersionsAsync(string name, int versions)
    {
        await CreateModelAsync(name);
        for (var v = 1; v <= versions; v++)
        {
            await RegisterAsync(name, Bytes(64, seed: name.Aggregate(17, (h, c) => h * 31 + c) + v));
        }
    }

    /// <summary>Points an alias at a version.</summary>
    public Task<SetAliasResponse> SetAliasAsync(string model, string alias, long version, string actor = "ops", string reason = "test") =>
        Client.SetAliasAsync(new SetAliasRequest { ModelName = model, Alias = alias, Version = version, Actor = actor, Reason = reason }).ResponseAsync;

    /// <summary>The store the host runs on.</summary>
    public RegistryStore Store => _store;

    /// <summary>The events of type <typeparamref name="T"/> written to the outbox, oldest first (sent or not).</summary>
    public List<T> OutboxEvents<T>() where T : MaaS.Contracts.MeshMessage =>
        Rows($"SELECT payload FROM outbox WHERE message_type = '{typeof(T).FullName}' ORDER BY id;",
            r => System.Text.Json.JsonSerializer.Deserialize<T>(r.GetString(0))!);

    /// <summary>The first column of the first row of a query on the registry's database (SQL both stores accept).</summary>
    public long Count(string sql)
    {
        using var connection = _store.Open(DataDirectory);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Every row of a query on the registry's database, mapped.</summary>
    public List<T> Rows<T>(string sql, Func<System.Data.Common.DbDataReader, T> map)
    {
        using var connection = _store.Open(DataDirectory);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(map(reader));
        }
        return rows;
    }

    /// <summary>Registers <paramref name="artifact"/> in chunks of <paramref name="chunkBytes"/>.</summary>
    public async Task<ModelVersion> RegisterAsync(string model, byte[] artifact, string? declaredDigest = null, int chunkBytes = 1000,
        Lineage? lineage = null)
    {
        var manifest = new VersionManifest
        {
            ModelName = model,
            ArtifactDigest = declaredDigest ?? Sha256(artifact),
            CreatedBy = "tests",
            Lineage = lineage ?? new Lineage(),
        };
        manifest.Inputs.Add(new TensorSpec { Name = "x", Datatype = "FP32", Shape = { -1, 1 } });
        manifest.Outputs.Add(new TensorSpec { Name = "y", Datatype = "FP32", Shape = { -1, 1 } });
        manifest.Metrics["train_mse"] = 0.25;
        manifest.Hyperparameters["epochs"] = "10";
        return await RegisterAsync(manifest, artifact, chunkBytes);
    }

    /// <summary>Registers with a given manifest.</summary>
    public async Task<ModelVersion> RegisterAsync(VersionManifest manifest, byte[] artifact, int chunkBytes = 1000)
    {
        using var call = Client.RegisterVersion();
        await SendAllAsync(call.RequestStream, async stream =>
        {
            await stream.WriteAsync(new RegisterVersionRequest { Manifest = manifest });
            foreach (var chunk in artifact.Chunk(chunkBytes))
            {
                await stream.WriteAsync(new RegisterVersionRequest { Chunk = ByteString.CopyFrom(chunk) });
            }
            await stream.CompleteAsync();
        });
        return (await call.ResponseAsync).Version;
    }

    /// <summary>Uploads a dataset in chunks.</summary>
    public async Task<DatasetVersion> UploadDatasetAsync(string name, byte[] content, string digest = "", int chunkBytes = 7,
        string format = "csv")
    {
        using var call = Client.UploadDataset();
        await SendAllAsync(call.RequestStream, async stream =>
        {
            await stream.WriteAsync(new UploadDatasetRequest
            {
                Manifest = new DatasetManifest { Name = name, Format = format, Description = "test data", Digest = digest },
            });
            foreach (var chunk in content.Chunk(chunkBytes))
            {
                await stream.WriteAsync(new UploadDatasetRequest { Chunk = ByteString.CopyFrom(chunk) });
            }
            await stream.CompleteAsync();
        });
        return (await call.ResponseAsync).Dataset;
    }

    /// <summary>
    /// Writes a client stream; when the server answers early (a refused manifest), a write can fail with Cancelled
    /// before the answer is read, so the write's error is dropped and the caller reads the call's own status.
    /// </summary>
    private static async Task SendAllAsync<T>(IClientStreamWriter<T> stream, Func<IClientStreamWriter<T>, Task> send)
    {
        try
        {
            await send(stream);
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException)
        {
            // The response (awaited next) carries the server's status.
        }
    }

    /// <summary>Downloads an artifact: the version message and the concatenated chunks.</summary>
    public async Task<(ModelVersion Version, byte[] Bytes, int Chunks)> DownloadArtifactAsync(string model, long version)
    {
        using var call = Client.DownloadArtifact(new DownloadArtifactRequest { ModelName = model, Version = version });
        ModelVersion? head = null;
        using var bytes = new MemoryStream();
        var chunks = 0;
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            if (message.PayloadCase == DownloadArtifactResponse.PayloadOneofCase.Version)
            {
                Assert.Null(head);
                Assert.Equal(0, chunks);
                head = message.Version;
            }
            else
            {
                message.Chunk.WriteTo(bytes);
                chunks++;
            }
        }
        return (head ?? throw new InvalidOperationException("No version message came first."), bytes.ToArray(), chunks);
    }

    /// <summary>Downloads a dataset: the dataset message and the concatenated chunks.</summary>
    public async Task<(DatasetVersion Dataset, byte[] Bytes)> DownloadDatasetAsync(string name, long version)
    {
        using var call = Client.DownloadDataset(new DownloadDatasetRequest { Name = name, Version = version });
        DatasetVersion? head = null;
        using var bytes = new MemoryStream();
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            if (message.PayloadCase == DownloadDatasetResponse.PayloadOneofCase.Dataset)
            {
                Assert.Null(head);
                head = message.Dataset;
            }
            else
            {
                message.Chunk.WriteTo(bytes);
            }
        }
        return (head ?? throw new InvalidOperationException("No dataset message came first."), bytes.ToArray());
    }

    /// <summary>sha256 as lower-case hex.</summary>
    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _factory.DisposeAsync();
        if (_ownsDataDirectory)
        {
            _store.Release(DataDirectory);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(DataDirectory, recursive: true); }
            catch (IOException) { /* a leftover temp folder is harmless */ }
        }
    }
}
