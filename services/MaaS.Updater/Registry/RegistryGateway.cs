using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;

namespace MaaS.Updater.Registry;

/// <summary>The calls the updater makes to the registry, with the registry's answers turned into the updater's terms.</summary>
public interface IRegistryGateway
{
    /// <summary>A model; NotFound for an unknown one.</summary>
    Task<Model> GetModelAsync(string model, CancellationToken ct);

    /// <summary>The production version of a model; NotFound for an unknown model, FailedPrecondition when none is in production.</summary>
    Task<ModelVersion> GetChampionAsync(string model, CancellationToken ct);

    /// <summary>One version.</summary>
    Task<ModelVersion> GetVersionAsync(string model, long version, CancellationToken ct);

    /// <summary>Stores CSV text as a new version of a dataset.</summary>
    Task<DatasetVersion> UploadCsvAsync(string dataset, string csv, string description, CancellationToken ct);

    /// <summary>A dataset version's bytes and its format.</summary>
    Task<(DatasetVersion Dataset, byte[] Content)> DownloadDatasetAsync(string dataset, long version, CancellationToken ct);

    /// <summary>A version's ONNX bytes, refused unless their SHA-256 is the registered digest.</summary>
    Task<byte[]> DownloadVerifiedArtifactAsync(string model, long version, CancellationToken ct);

    /// <summary>Moves production to <paramref name="version"/>, recording the reason.</summary>
    Task PromoteAsync(string model, long version, string reason, CancellationToken ct);
}

/// <summary>The registry over gRPC.</summary>
public sealed class RegistryGateway(RegistryService.RegistryServiceClient client) : IRegistryGateway
{
    /// <summary>The alias every client's default version follows.</summary>
    public const string Production = "production";

    private const int ChunkBytes = 64 * 1024;

    /// <inheritdoc />
    public async Task<Model> GetModelAsync(string model, CancellationToken ct) =>
        (await client.GetModelAsync(new GetModelRequest { Name = model }, cancellationToken: ct)).Model;

    /// <inheritdoc />
    public async Task<ModelVersion> GetChampionAsync(string model, CancellationToken ct)
    {
        var found = await GetModelAsync(model, ct);
        if (!found.Aliases.TryGetValue(Production, out var version))
        {
            throw MeshErrors.FailedPrecondition($"Model '{model}' has no '{Production}' version yet; train one and set the alias first.");
        }
        return await GetVersionAsync(model, version, ct);
    }

    /// <inheritdoc />
    public async Task<ModelVersion> GetVersionAsync(string model, long version, CancellationToken ct) =>
        (await client.GetVersionAsync(new GetVersionRequest { ModelName = model, Version = version }, cancellationToken: ct)).Version;

    /// <inheritdoc />
    public async Task<DatasetVersion> UploadCsvAsync(string dataset, string csv, string description, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(csv);
        using var call = client.UploadDataset(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new UploadDatasetRequest
        {
            Manifest = new DatasetManifest
            {
                Name = dataset,
                Format = "csv",
                Description = description,
                Digest = Convert.ToHexStringLower(SHA256.HashData(bytes)),
            },
        }, ct);
        for (var offset = 0; offset < bytes.Length; offset += ChunkBytes)
        {
            var chunk = ByteString.CopyFrom(bytes, offset, Math.Min(ChunkBytes, bytes.Length - offset));
            await call.RequestStream.WriteAsync(new UploadDatasetRequest { Chunk = chunk }, ct);
        }
        await call.RequestStream.CompleteAsync();
        return (await call).Dataset;
    }

    /// <inheritdoc />
    public async Task<(DatasetVersion Dataset, byte[] Content)> DownloadDatasetAsync(string dataset, long version, CancellationToken ct)
    {
        using var call = client.DownloadDataset(new DownloadDatasetRequest { Name = dataset, Version = version }, cancellationToken: ct);
        using var buffer = new MemoryStream();
        DatasetVersion? found = null;
        await foreach (var message in call.ResponseStream.ReadAllAsync(ct))
        {
            if (message.PayloadCase == DownloadDatasetResponse.PayloadOneofCase.Dataset) found = message.Dataset;
            else message.Chunk.WriteTo(buffer);
        }
        return (found ?? new DatasetVersion { Name = dataset, Version = version }, buffer.ToArray());
    }

    /// <inheritdoc />
    public async Task<byte[]> DownloadVerifiedArtifactAsync(string model, long version, CancellationToken ct)
    {
        using var call = client.DownloadArtifact(new DownloadArtifactRequest { ModelName = model, Version = version }, cancellationToken: ct);
        using var buffer = new MemoryStream();
        string? digest = null;
        await foreach (var message in call.ResponseStream.ReadAllAsync(ct))
        {
            if (message.PayloadCase == DownloadArtifactResponse.PayloadOneofCase.Version)
            {
                digest = message.Version.ArtifactDigest;
            }
            else
            {
                message.Chunk.WriteTo(buffer);
            }
        }
        var bytes = buffer.ToArray();
        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (digest is null || actual != digest)
        {
            throw MeshErrors.FailedPrecondition(
                $"Artifact of {model} version {version} has sha256 {actual}, not the registered {digest ?? "(none sent)"}; refusing to use it.");
        }
        return bytes;
    }

    /// <inheritdoc />
    public Task PromoteAsync(string model, long version, string reason, CancellationToken ct) =>
        client.SetAliasAsync(new SetAliasRequest
        {
            ModelName = model,
            Alias = Production,
            Version = version,
            Reason = reason,
            Actor = "updater",
        }, cancellationToken: ct).ResponseAsync;
}
