using System.Collections.Concurrent;
using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using MaaS.Registry.V1;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Training;

/// <summary>A downloaded dataset version: its record and its bytes.</summary>
public sealed record DownloadedDataset(DatasetVersion Info, byte[] Content);

/// <summary>
/// The registry calls a job makes: download the dataset and the warm-start artifact, register the
/// result. A registry refusal becomes a <see cref="TrainingFailedException"/> carrying the registry's sentence.
/// </summary>
public sealed class RegistryGateway(RegistryService.RegistryServiceClient client, IOptions<TrainerOptions> options)
{
    // Models this process has created or seen created: the registry has no model deletion, so CreateModel
    // (a round trip per job) is only needed the first time.
    private readonly ConcurrentDictionary<string, bool> knownModels = new(StringComparer.Ordinal);

    /// <summary>The record of a dataset version (0 = latest): its digest tells whether a cached table is still it.</summary>
    public async Task<DatasetVersion> GetDatasetAsync(string name, long version, CancellationToken ct)
    {
        return await Call("GetDataset", async () =>
            (await client.GetDatasetAsync(new GetDatasetRequest { Name = name, Version = version }, cancellationToken: ct)).Dataset
            ?? throw new TrainingFailedException($"The registry sent no record for dataset '{name}'."));
    }

    /// <summary>Streams a dataset version (0 = latest) and checks its bytes against the recorded digest.</summary>
    public async Task<DownloadedDataset> DownloadDatasetAsync(string name, long version, CancellationToken ct)
    {
        return await Call("DownloadDataset", async () =>
        {
            using var call = client.DownloadDataset(new DownloadDatasetRequest { Name = name, Version = version }, cancellationToken: ct);
            DatasetVersion? info = null;
            using var content = new MemoryStream();
            await foreach (var message in call.ResponseStream.ReadAllAsync(ct))
            {
                if (message.PayloadCase == DownloadDatasetResponse.PayloadOneofCase.Dataset) info = message.Dataset;
                else if (message.PayloadCase == DownloadDatasetResponse.PayloadOneofCase.Chunk) message.Chunk.WriteTo(content);
            }
            if (info is null) throw new TrainingFailedException($"The registry sent dataset '{name}' without its record.");
            var bytes = content.ToArray();
            var digest = Sha256Hex(bytes);
            if (info.Digest.Length > 0 && !string.Equals(info.Digest, digest, StringComparison.OrdinalIgnoreCase))
            {
                throw new TrainingFailedException(
                    $"Dataset '{name}' version {info.Version} arrived with sha256 {digest}; the registry records {info.Digest}.");
            }
            return new DownloadedDataset(info, bytes);
        });
    }

    /// <summary>Streams the ONNX artifact of a model version.</summary>
    public async Task<byte[]> DownloadArtifactAsync(string model, long version, CancellationToken ct)
    {
        return await Call("DownloadArtifact", async () =>
        {
            using var call = client.DownloadArtifact(new DownloadArtifactRequest { ModelName = model, Version = version }, cancellationToken: ct);
            using var content = new MemoryStream();
            await foreach (var message in call.ResponseStream.ReadAllAsync(ct))
            {
                if (message.PayloadCase == DownloadArtifactResponse.PayloadOneofCase.Chunk) message.Chunk.WriteTo(content);
            }
            return content.ToArray();
        });
    }

    /// <summary>Creates the model (with the job's task) when missing, then registers the artifact as a new version.</summary>
    public async Task<ModelVersion> RegisterAsync(VersionManifest manifest, string task, byte[] artifact, CancellationToken ct)
    {
        var known = knownModels.ContainsKey(manifest.ModelName);
        try
        {
            return await RegisterOnceAsync(manifest, task, artifact, ct);
        }
        catch (TrainingFailedException ex) when (known && ex.InnerException is RpcException { StatusCode: StatusCode.NotFound })
        {
            // The registry no longer has the model (e.g. a fresh registry behind the same address): create it again.
            knownModels.TryRemove(manifest.ModelName, out _);
            return await RegisterOnceAsync(manifest, task, artifact, ct);
        }
    }

    private async Task<ModelVersion> RegisterOnceAsync(VersionManifest manifest, string task, byte[] artifact, CancellationToken ct)
    {
        if (!knownModels.ContainsKey(manifest.ModelName))
        {
            await Call("CreateModel", async () => await client.CreateModelAsync(new CreateModelRequest
            {
                Name = manifest.ModelName,
                Task = task,
                Description = "Created by the trainer.",
                IfAbsent = true,
            }, cancellationToken: ct));
            knownModels.TryAdd(manifest.ModelName, true);
        }

        return await Call("RegisterVersion", async () =>
        {
            using var call = client.RegisterVersion(cancellationToken: ct);
            try
            {
                await call.RequestStream.WriteAsync(new RegisterVersionRequest { Manifest = manifest }, ct);
                var chunk = options.Value.ChunkBytes;
                for (var offset = 0; offset < artifact.Length; offset += chunk)
                {
                    var piece = ByteString.CopyFrom(artifact, offset, Math.Min(chunk, artifact.Length - offset));
                    await call.RequestStream.WriteAsync(new RegisterVersionRequest { Chunk = piece }, ct);
                }
                await call.RequestStream.CompleteAsync();
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // The registry ended the call early (a refusal); its status arrives with the response below.
            }
            var response = await call.ResponseAsync;
            return response.Version;
        });
    }

    /// <summary>sha256 of the bytes, lower-case hex, as the registry names content.</summary>
    public static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static async Task<T> Call<T>(string operation, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled)
        {
            throw new TrainingFailedException($"Registry {operation} failed ({ex.StatusCode}): {ex.Status.Detail}", ex);
        }
    }
}
