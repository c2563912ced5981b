using System.Text;
using MaaS.Registry.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace MaaS.Registry.Tests;

public sealed class FileSystemBlobStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("maas-blobs-").FullName;
    private readonly FileSystemBlobStore _store;

    public FileSystemBlobStoreTests()
    {
        _store = new FileSystemBlobStore(_root, NullLogger<FileSystemBlobStore>.Instance);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private async Task<StoredBlob> StoreAsync(byte[] content, string? declaredDigest = null, long maxBytes = 1 << 20)
    {
        await using var upload = _store.BeginUpload(maxBytes);
        foreach (var chunk in content.Chunk(5))
        {
            await upload.WriteAsync(chunk, CancellationToken.None);
        }
        await upload.CompleteAsync(declaredDigest, CancellationToken.None);
        return upload.Commit();
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    private string[] StoredFiles() => Directory.GetFiles(Path.Combine(_root, "sha256"), "*", SearchOption.AllDirectories);

    [Fact]
    public async Task Commit_SameContentTwice_StoresOneFileUnderItsDigest()
    {
        var content = Encoding.UTF8.GetBytes("the same bytes, twice");
        var digest = RegistryHost.Sha256(content);

        var first = await StoreAsync(content, digest);
        var second = await StoreAsync(content);

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(digest, second.Digest);
        var file = Assert.Single(StoredFiles());
        Assert.Equal(Path.Combine(_root, "sha256", digest[..2], digest), file);
        Assert.Empty(Directory.GetFiles(_store.TempDirectory));
        Assert.Equal(content, await ReadAllAsync(_store.OpenRead(digest, content.Length)));
    }

    [Fact]
    public async Task Complete_DeclaredDigestDiffers_RefusesAndLeavesNothing()
    {
        var content = Encoding.UTF8.GetBytes("payload");
        var wrong = RegistryHost.Sha256(Encoding.UTF8.GetBytes("something else"));

        var error = await Assert.ThrowsAsync<BlobDigestMismatchException>(() => StoreAsync(content, wrong));

        Assert.Equal(wrong, error.Declared);
        Assert.Equal(RegistryHost.Sha256(content), error.Computed);
        Assert.Empty(StoredFiles());
        Assert.Empty(Directory.GetFiles(_store.TempDirectory));
    }

    [Fact]
    public async Task Write_PastLimit_RefusesAndLeavesNothing()
    {
        var error = await Assert.ThrowsAsync<BlobTooLargeException>(() => StoreAsync(new byte[100], maxBytes: 99));

        Assert.Equal(99, error.Limit);
        Assert.Empty(StoredFiles());
        Assert.Empty(Directory.GetFiles(_store.TempDirectory));
    }

    [Fact]
    public async Task OpenRead_TamperedBlob_RefusesWhenTheBytesAreRead()
    {
        var content = Encoding.UTF8.GetBytes("weights that must not change");
        var blob = await StoreAsync(content);
        var tampered = (byte[])content.Clone();
        tampered[3] ^= 0xFF;
        await File.WriteAllBytesAsync(_store.PathOf(blob.Digest), tampered);

        var error = await Assert.ThrowsAsync<BlobCorruptedException>(() => ReadAllAsync(_store.OpenRead(blob.Digest, blob.Size)));

        Assert.Equal(blob.Digest, error.Digest);
        Assert.Contains("hash to", error.Message);
    }

    [Fact]
    public async Task OpenRead_TruncatedBlob_RefusesAtOnce()
    {
        var content = Encoding.UTF8.GetBytes("a blob that loses its tail");
        var blob = await StoreAsync(content);
        await File.WriteAllBytesAsync(_store.PathOf(blob.Digest), content[..10]);

        var error = Assert.Throws<BlobCorruptedException>(() => _store.OpenRead(blob.Digest, blob.Size));

        Assert.Contains($"it has 10 bytes, the registry recorded {content.Length}", error.Message);
    }

    [Fact]
    public void OpenRead_MissingBlob_Refuses()
    {
        var digest = RegistryHost.Sha256([1, 2, 3]);

        var error = Assert.Throws<BlobCorruptedException>(() => _store.OpenRead(digest, 3));

        Assert.Contains("missing", error.Message);
    }

    [Fact]
    public async Task Commit_DamagedCopyExists_ReplacesItWithTheUploadedBytes()
    {
        var content = Encoding.UTF8.GetBytes("good bytes");
        var blob = await StoreAsync(content);
        await File.WriteAllBytesAsync(_store.PathOf(blob.Digest), Encoding.UTF8.GetBytes("bad! bytes"));

        var again = await StoreAsync(content);

        Assert.False(again.Created);
        Assert.Equal(content, await ReadAllAsync(_store.OpenRead(blob.Digest, blob.Size)));
    }
}
