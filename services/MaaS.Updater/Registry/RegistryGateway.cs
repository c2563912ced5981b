using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;

namespace MaaS.Updater.Registry;

/// <summary>The calls the updater makes to the registry, with the registry's answers turned into the updater's terms.</summary>
public sealed class RegistryGateway(RegistryService.RegistryServiceClient client)
{
    /// <summary>The alias every client's default version follows.</summary>
    public const string Production = "production";

    private const int ChunkBytes = 64 * 1024;

    /// <summary>The production version of a model; NotFound for an unknown model, FailedPrecondition when none is in production.</summary>
    public async Task<ModelVersion> GetChampionAsync(string model, CancellationToken ct)
    {
        var found = (await client.GetModelAsync(new GetModelRequest { Name = model }, cancellationToken: ct)).Model;
        if (!found.Aliases.TryGetValue(Production, out var version))
        {
            throw MeshErrors.FailedPrecondition($"Model '{model}' has no '{Production}' version yet; train one and set the alias first.");
        }
        return await GetVersionAsync(model, version, ct);
    }

    /// <summary>One version.</summary>
    public async Task<ModelVersion> GetVersionAsync(string model, long version, CancellationToken ct) =>
        (await client.GetVersionAsync(new GetVersionRequest { ModelName = model, Version = version }, cancellationToken: ct)).Version;

    /// <summary>Stores CSV text as a new version of a dataset.</summary>
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

    /// <summary>A version's ONNX bytes, refused unless their SHA-256 is the registered digest.</summary>
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

    /// <summary>Moves production to <paramref name="version"/>, recording the reason.</summary>
    public Task<SetAliasResponse> PromoteAsync(string model, long version, string reason, CancellationToken ct) =>
        client.SetAliasAsync(new SetAliasRequest
        {
            ModelName = model,
            Alias = Production,
            Version = version,
            Reason = reason,
            Actor = "updater",
        }, cancellationToken: ct).ResponseAsync;
}
