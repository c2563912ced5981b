using System.Text;
using Amazon.S3.Model;
using Grpc.Core;
using MaaS.Registry.Storage.S3;
using MaaS.Registry.Storage;
using MaaS.Registry.Tests.Stores;
using MaaS.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace MaaS.Registry.Tests;

/// <summary>The S3 blob store against a real S3-compatible server (s3rver), each test under a key prefix of its own.</summary>
[Collection(S3Collection.Name)]
public sealed class S3BlobStoreTests : IDisposable
{
    private readonly S3Server _server;
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..12] + "/";
    private readonly string _temp = Directory.CreateTempSubdirectory("maas-s3-staging-").FullName;
    private readonly S3BlobStore _store;

    public S3BlobStoreTests(S3Server server)
    {
        _server = server;
        _store = new S3BlobStore(S3BlobStore.CreateClient(server.Options(_prefix)), S3Server.Bucket, _prefix, _temp,
            NullLogger<S3BlobStore>.Instance);
    }

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_temp, recursive: true);
    }

    [Fact]
    public async Task Commit_SameContentTwice_StoresOneObjectUnderItsDigest()
    {
        var content = Encoding.UTF8.GetBytes("the same bytes, twice");
        var digest = RegistryHost.Sha256(content);

        var first = await StoreAsync(content, digest);
        var second = await StoreAsync(content);

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal($"{_prefix}sha256/{digest[..2]}/{digest}", Assert.Single(await KeysAsync()));
        Assert.Empty(Directory.GetFiles(_store.TempDirectory));
        Assert.True(_store.Exists(digest));
        Assert.Equal(content, await ReadAllAsync(_store.OpenRead(digest, content.Length)));
    }

    [Fact]
    public async Task Commit_LargeContent_ReadBackByteForByte()
    {
        var content = RegistryHost.Bytes(3 * 1024 * 1024 + 17, seed: 3);

        var blob = await StoreAsync(content, chunk: 64 * 1024);

        Assert.Equal(content.Length, blob.Size);
        Assert.Equal(content, await ReadAllAsync(_store.OpenRead(blob.Digest, blob.Size)));
    }

    [Fact]
    public async Task Complete_DeclaredDigestDiffers_RefusesAndUploadsNothing()
    {
        var content = Encoding.UTF8.GetBytes("payload");
        var wrong = RegistryHost.Sha256(Encoding.UTF8.GetBytes("something else"));

        var error = await Assert.ThrowsAsync<BlobDigestMismatchException>(() => StoreAsync(content, wrong));

        Assert.Equal(RegistryHost.Sha256(content), error.Computed);
        Assert.Empty(await KeysAsync());
        Assert.Empty(Directory.GetFiles(_store.TempDirectory));
    }

    [Fact]
    public async Task Write_PastLimit_RefusesAndUploadsNothing()
    {
        var error = await Assert.ThrowsAsync<BlobTooLargeException>(() => StoreAsync(new byte[100], maxBytes: 99));

        Assert.Equal(99, error.Limit);
        Assert.Empty(await KeysAsync());
        Assert.Empty(Directory.GetFiles(_store.TempDirectory));
    }

    [Fact]
    public async Task OpenRead_TamperedObject_RefusesWhenTheBytesAreRead()
    {
        var content = Encoding.UTF8.GetBytes("weights that must not change");
        var blob = await StoreAsync(content);
        var tampered = (byte[])content.Clone();
        tampered[3] ^= 0xFF;
        await OverwriteAsync(blob.Digest, tampered);

        var error = await Assert.ThrowsAsync<BlobCorruptedException>(() => ReadAllAsync(_store.OpenRead(blob.Digest, blob.Size)));

        Assert.Equal(blob.Digest, error.Digest);
        Assert.Contains("hash to", error.Message);
    }

    [Fact]
    public async Task OpenRead_TruncatedObject_RefusesAtOnce()
    {
        var content = Encoding.UTF8.GetBytes("a blob that loses its tail");
        var blob = await StoreAsync(content);
        await OverwriteAsync(blob.Digest, content[..10]);

        var error = Assert.Throws<BlobCorruptedException>(() => _store.OpenRead(blob.Digest, blob.Size));

        Assert.Contains($"it has 10 bytes, the registry recorded {content.Length}", error.Message);
    }

    [Fact]
    public void OpenRead_MissingObject_Refuses()
    {
        var digest = RegistryHost.Sha256([1, 2, 3]);

        var error = Assert.Throws<BlobCorruptedException>(() => _store.OpenRead(digest, 3));

        Assert.Contains("missing", error.Message);
        Assert.False(_store.Exists(digest));
    }

    [Fact]
    public async Task Commit_DamagedCopyExists_ReplacesItWithTheUploadedBytes()
    {
        var content = Encoding.UTF8.GetBytes("good bytes");
        var blob = await StoreAsync(content);
        await OverwriteAsync(blob.Digest, Encoding.UTF8.GetBytes("bad! bytes"));

        var again = await StoreAsync(content);

        Assert.False(again.Created);
        Assert.Equal(content, await ReadAllAsync(_store.OpenRead(blob.Digest, blob.Size)));
    }

    [Fact]
    public async Task Delete_StoredBlob_ObjectGone()
    {
        var blob = await StoreAsync(Encoding.UTF8.GetBytes("short-lived"));

        await _store.DeleteAsync(blob.Digest, CancellationToken.None);

        Assert.Empty(await KeysAsync());
    }

    [Fact]
    public async Task Registry_OnS3_ArtifactRoundTripsAndATamperedObjectIsDataLoss()
    {
        await using var host = new RegistryHost(settings: _server.Settings(_prefix));
        await host.CreateModelAsync("mlp");
        var artifact = RegistryHost.Bytes(200_000, seed: 21);

        var version = await host.RegisterAsync("mlp", artifact, chunkBytes: 50_000);
        var (_, downloaded, _) = await host.DownloadArtifactAsync("mlp", version.Version);
        var stored = Assert.Single(await KeysAsync());
        artifact[1234] ^= 0x01;
        await OverwriteAsync(version.ArtifactDigest, artifact);
        var error = await Assert.ThrowsAsync<RpcException>(() => host.DownloadArtifactAsync("mlp", version.Version));

        Assert.Equal(RegistryHost.Sha256(downloaded), version.ArtifactDigest);
        Assert.EndsWith(version.ArtifactDigest, stored);
        Assert.Equal(StatusCode.DataLoss, error.StatusCode);
        Assert.Contains(version.ArtifactDigest, error.Status.Detail);
        Assert.False(File.Exists(host.BlobPath(version.ArtifactDigest)));
    }

    [Fact]
    public async Task Registry_OnS3WithoutBucket_RefusesToStartNamingTheSetting()
    {
        var settings = _server.Settings(_prefix);
        settings["Registry:S3:Bucket"] = "";

        var output = await StartupRefusal.RunAsync("services/MaaS.Registry", settings);

        Assert.Contains("Registry:S3:Bucket is required when Registry:BlobStore is S3.", output);
    }

    private async Task<StoredBlob> StoreAsync(byte[] content, string? declaredDigest = null, long maxBytes = 16 << 20, int chunk = 5)
    {
        await using var upload = _store.BeginUpload(maxBytes);
        foreach (var piece in content.Chunk(chunk))
        {
            await upload.WriteAsync(piece, CancellationToken.None);
        }
        await upload.CompleteAsync(declaredDigest, CancellationToken.None);
        return await upload.CommitAsync(CancellationToken.None);
    }

    private async Task<List<string>> KeysAsync()
    {
        var listing = await _server.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3Server.Bucket, Prefix = _prefix });
        return (listing.S3Objects ?? []).Select(o => o.Key).ToList();
    }

    // Damage behind the store's back: another writer of the bucket.
    private Task OverwriteAsync(string digest, byte[] bytes) =>
        _server.Client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = S3Server.Bucket,
            Key = _store.KeyOf(digest),
            InputStream = new MemoryStream(bytes),
            UseChunkEncoding = false,
        });

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }
}
