using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Google.Protobuf;
using MaaS.Registry.V1;

namespace MaaS.RegistryBenchmarks.Scenarios;

/// <summary>
/// The synthetic catalogue: model names, tasks and tags that the query filters can select a known share
/// of, version manifests like the trainer's, and artifacts whose bytes are unique per version (the blob
/// store is content-addressed: identical bytes would be stored once and measure nothing).
/// </summary>
public static class Workload
{
    /// <summary>Chunk size of artifact streams (the registry's download chunk size too).</summary>
    public const int ChunkBytes = 64 * 1024;

    /// <summary>Teams: the name prefix and a tag; each holds 1/10 of the models.</summary>
    public static readonly string[] Teams = ["ads", "fraud", "search", "risk", "vision", "speech", "pricing", "churn", "supply", "health"];

    /// <summary>The alias every fifth model gets after population (the alias filter selects 1/5).</summary>
    public const string Alias = "production";

    /// <summary>Tasks; each holds 1/4 of the models.</summary>
    public static readonly string[] Tasks = ["regression", "classification", "ranking", "forecasting"];

    /// <summary>Name of model <paramref name="i"/>: team prefix, then a zero-padded number.</summary>
    public static string ModelName(int i) => $"{Teams[i % Teams.Length]}-model-{i.ToString("D5", CultureInfo.InvariantCulture)}";

    /// <summary>Task of model <paramref name="i"/>.</summary>
    public static string Task(int i) => Tasks[i % Tasks.Length];

    /// <summary>Tags of model <paramref name="i"/>: its team and one of three tiers.</summary>
    public static string[] Tags(int i) => [$"team-{Teams[i % Teams.Length]}", $"tier-{i % 3}"];

    /// <summary>Artifact bytes unique to (<paramref name="seed"/>, <paramref name="size"/>), with their sha256.</summary>
    public static (byte[] Bytes, string Digest) Artifact(long seed, int size)
    {
        var bytes = new byte[size];
        new Random(unchecked((int)(seed * 2654435761L))).NextBytes(bytes);
        // The seed itself goes in too, so two seeds never share content even if Random repeats.
        BinaryPrimitives.WriteInt64LittleEndian(bytes, seed);
        return (bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>A manifest like the trainer's: a small dense model's signature, metrics, hyper-parameters and lineage.</summary>
    public static VersionManifest Manifest(string model, string digest, long seed)
    {
        var manifest = new VersionManifest
        {
            ModelName = model,
            ArtifactDigest = digest,
            CreatedBy = "registry-benchmark",
            Lineage = new Lineage
            {
                DatasetName = "bench-data",
                DatasetVersion = 1,
                DatasetDigest = new string('0', 64),
                TrainingJobId = "bench-" + seed.ToString(CultureInfo.InvariantCulture),
            },
        };
        manifest.Inputs.Add(new TensorSpec { Name = "x", Datatype = "FP32", Shape = { -1, 4 } });
        manifest.Outputs.Add(new TensorSpec { Name = "y", Datatype = "FP32", Shape = { -1, 1 } });
        manifest.Metrics["train_mse"] = 0.01 + (seed % 100) / 1000.0;
        manifest.Hyperparameters["epochs"] = "50";
        manifest.Hyperparameters["learning_rate"] = "0.01";
        return manifest;
    }

    /// <summary>Registers a version: the manifest, then the artifact in 64 KiB chunks.</summary>
    public static async Task<ModelVersion> RegisterAsync(RegistryService.RegistryServiceClient client, VersionManifest manifest,
        ReadOnlyMemory<byte> artifact, CancellationToken cancellationToken = default)
    {
        using var call = client.RegisterVersion(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new RegisterVersionRequest { Manifest = manifest }, cancellationToken);
        for (var offset = 0; offset < artifact.Length; offset += ChunkBytes)
        {
            var chunk = artifact.Slice(offset, Math.Min(ChunkBytes, artifact.Length - offset));
            await call.RequestStream.WriteAsync(new RegisterVersionRequest { Chunk = UnsafeByteOperations.UnsafeWrap(chunk) }, cancellationToken);
        }
        await call.RequestStream.CompleteAsync();
        return (await call.ResponseAsync).Version;
    }

    /// <summary>Creates model <paramref name="i"/> of the catalogue.</summary>
    public static async Task CreateModelAsync(RegistryService.RegistryServiceClient client, int i, string? name = null)
    {
        await client.CreateModelAsync(new CreateModelRequest
        {
            Name = name ?? ModelName(i),
            Description = $"Benchmark model {i.ToString(CultureInfo.InvariantCulture)}",
            Task = Task(i),
            Owner = Teams[i % Teams.Length],
            Tags = { Tags(i) },
        });
    }
}
