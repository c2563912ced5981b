using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MaaS.Trainer.Tests.Support;

/// <summary>
/// An in-memory stand-in for the registry, served over real gRPC by a TestServer: the rpcs the trainer
/// calls (datasets, models, versions, artifacts), with the registry's status codes.
/// </summary>
public sealed class FakeRegistry : RegistryService.RegistryServiceBase
{
    private const int ChunkBytes = 100; // small, so downloads arrive in several pieces
    private readonly Lock gate = new();
    private readonly Dictionary<string, List<(DatasetVersion Info, byte[] Content)>> datasets = [];
    private readonly Dictionary<string, List<(ModelVersion Version, byte[] Artifact)>> models = [];

    /// <summary>When set, RegisterVersion answers FailedPrecondition with this sentence.</summary>
    public string? RefuseRegistrations { get; set; }

    private int datasetDownloads;

    /// <summary>DownloadDataset calls answered so far.</summary>
    public int DatasetDownloads => Volatile.Read(ref datasetDownloads);

    /// <summary>Stores a dataset version made from a table.</summary>
    public DatasetVersion AddDataset(string name, NumericTable table) => AddDataset(name, table.ToCsv(), table.Columns, table.Rows.Count);

    /// <summary>Stores a dataset version from raw CSV text.</summary>
    public DatasetVersion AddDataset(string name, string csv, IEnumerable<string>? columns = null, int rows = 0) =>
        AddDataset(name, System.Text.Encoding.UTF8.GetBytes(csv), "csv", columns, rows);

    /// <summary>Stores a dataset version made from a table, written as Parquet.</summary>
    public async Task<DatasetVersion> AddParquetDatasetAsync(string name, NumericTable table) =>
        AddDataset(name, await ParquetTables.WriteAsync(table), "parquet", table.Columns, table.Rows.Count);

    /// <summary>Stores a dataset version from raw bytes of the given format.</summary>
    public DatasetVersion AddDataset(string name, byte[] bytes, string format, IEnumerable<string>? columns = null, int rows = 0)
    {
        lock (gate)
        {
            var versions = datasets.TryGetValue(name, out var list) ? list : datasets[name] = [];
            var info = new DatasetVersion
            {
                Name = name,
                Version = versions.Count + 1,
                Digest = Convert.ToHexStringLower(SHA256.HashData(bytes)),
                Size = bytes.Length,
                RowCount = rows,
                Columns = { columns ?? [] },
                Format = format,
                CreatedAt = Timestamp.FromDateTime(DateTime.UtcNow),
            };
            versions.Add((info, bytes));
            return info;
        }
    }

    /// <summary>The stored version and its artifact, or null.</summary>
    public (ModelVersion Version, byte[] Artifact)? Version(string model, long version)
    {
        lock (gate)
        {
            return models.TryGetValue(model, out var list) && version >= 1 && version <= list.Count ? list[(int)version - 1] : null;
        }
    }

    /// <inheritdoc />
    public override Task<GetDatasetResponse> GetDataset(GetDatasetRequest request, ServerCallContext context) =>
        Task.FromResult(new GetDatasetResponse { Dataset = FindDataset(request.Name, request.Version).Info });

    /// <inheritdoc />
    public override async Task DownloadDataset(DownloadDatasetRequest request, IServerStreamWriter<DownloadDatasetResponse> responseStream, ServerCallContext context)
    {
        Interlocked.Increment(ref datasetDownloads);
        var (info, content) = FindDataset(request.Name, request.Version);
        await responseStream.WriteAsync(new DownloadDatasetResponse { Dataset = info });
        foreach (var chunk in content.Chunk(ChunkBytes))
        {
            await responseStream.WriteAsync(new DownloadDatasetResponse { Chunk = ByteString.CopyFrom(chunk) });
        }
    }

    /// <inheritdoc />
    public override Task<CreateModelResponse> CreateModel(CreateModelRequest request, ServerCallContext context)
    {
        lock (gate)
        {
            if (models.ContainsKey(request.Name) && !request.IfAbsent)
            {
                throw new RpcException(new Status(StatusCode.AlreadyExists, $"Model '{request.Name}' already exists."));
            }
            if (!models.ContainsKey(request.Name)) models[request.Name] = [];
            return Task.FromResult(new CreateModelResponse { Model = new Model { Name = request.Name, Task = request.Task, LatestVersion = models[request.Name].Count } });
        }
    }

    /// <inheritdoc />
    public override async Task<RegisterVersionResponse> RegisterVersion(IAsyncStreamReader<RegisterVersionRequest> requestStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext() || requestStream.Current.PayloadCase != RegisterVersionRequest.PayloadOneofCase.Manifest)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message must be the manifest."));
        }
        var manifest = requestStream.Current.Manifest;
        using var artifact = new MemoryStream();
        while (await requestStream.MoveNext()) requestStream.Current.Chunk.WriteTo(artifact);
        var bytes = artifact.ToArray();

        if (RefuseRegistrations is { } sentence) throw new RpcException(new Status(StatusCode.FailedPrecondition, sentence));
        var digest = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (digest != manifest.ArtifactDigest)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"artifact_digest is {manifest.ArtifactDigest}; the bytes have {digest}."));
        }
        lock (gate)
        {
            if (!models.TryGetValue(manifest.ModelName, out var list))
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"Model '{manifest.ModelName}' does not exist."));
            }
            var version = new ModelVersion
            {
                ModelName = manifest.ModelName,
                Version = list.Count + 1,
                ArtifactDigest = digest,
                ArtifactSize = bytes.Length,
                Inputs = { manifest.Inputs },
                Outputs = { manifest.Outputs },
                Metrics = { manifest.Metrics },
                Hyperparameters = { manifest.Hyperparameters },
                Lineage = manifest.Lineage,
                Status = VersionStatus.Ready,
                CreatedBy = manifest.CreatedBy,
                CreatedAt = Timestamp.FromDateTime(DateTime.UtcNow),
            };
            list.Add((version, bytes));
            return new RegisterVersionResponse { Version = version };
        }
    }

    /// <inheritdoc />
    public override Task<GetVersionResponse> GetVersion(GetVersionRequest request, ServerCallContext context)
    {
        var found = Version(request.ModelName, request.Version)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"Model '{request.ModelName}' has no version {request.Version}."));
        return Task.FromResult(new GetVersionResponse { Version = found.Version });
    }

    /// <inheritdoc />
    public override async Task DownloadArtifact(DownloadArtifactRequest request, IServerStreamWriter<DownloadArtifactResponse> responseStream, ServerCallContext context)
    {
        var (version, artifact) = Version(request.ModelName, request.Version)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"Model '{request.ModelName}' has no version {request.Version}."));
        await responseStream.WriteAsync(new DownloadArtifactResponse { Version = version });
        foreach (var chunk in artifact.Chunk(ChunkBytes))
        {
            await responseStream.WriteAsync(new DownloadArtifactResponse { Chunk = ByteString.CopyFrom(chunk) });
        }
    }

    private (DatasetVersion Info, byte[] Content) FindDataset(string name, long version)
    {
        lock (gate)
        {
            if (datasets.TryGetValue(name, out var list) && list.Count > 0)
            {
                if (version == 0) return list[^1];
                if (version >= 1 && version <= list.Count) return list[(int)version - 1];
            }
        }
        throw new RpcException(new Status(StatusCode.NotFound, $"Dataset '{name}' has no version {(version == 0 ? "at all" : version)}."));
    }

    /// <summary>Serves a registry over gRPC in memory; the handler goes into the trainer's registry client.</summary>
    public static (WebApplication App, FakeRegistry Registry) Start()
    {
        var registry = new FakeRegistry();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(registry);
        var app = builder.Build();
        app.MapGrpcService<FakeRegistry>();
        app.Start();
        return (app, registry);
    }
}
