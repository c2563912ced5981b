namespace MaaS.Registry.Storage;

/// <summary>
/// Content-addressed storage: a blob's name is the SHA-256 of its bytes, so identical content is
/// stored once and every read can prove the bytes are the ones that were written.
/// </summary>
public interface IBlobStore
{
    /// <summary>Starts an upload that refuses content larger than <paramref name="maxBytes"/>.</summary>
    IBlobUpload BeginUpload(long maxBytes);

    /// <summary>
    /// Opens a stored blob for reading. Missing or wrong-sized blobs are refused at once; the returned
    /// stream hashes while it is read and throws <see cref="BlobCorruptedException"/> at the end if the
    /// bytes do not hash to <paramref name="digest"/>.
    /// </summary>
    /// <exception cref="BlobCorruptedException">The blob is missing or has another size.</exception>
    Stream OpenRead(string digest, long size);

    /// <summary>Whether a blob with this digest is stored.</summary>
    bool Exists(string digest);

    /// <summary>Removes a blob; used only by <see cref="BlobCommitter"/> once nothing references it.</summary>
    void Delete(string digest);

    /// <summary>Removes a blob without blocking a thread on a remote store (see <see cref="Delete"/>).</summary>
    Task DeleteAsync(string digest, CancellationToken cancellationToken);
}

/// <summary>One upload in progress: written to a private temporary file, hashed as it arrives (for every store, so the digest is checked before anything is visible).</summary>
public interface IBlobUpload : IAsyncDisposable
{
    /// <summary>Bytes written so far.</summary>
    long Length { get; }

    /// <summary>SHA-256 of the content; available after <see cref="CompleteAsync"/>.</summary>
    string Digest { get; }

    /// <summary>Appends bytes.</summary>
    /// <exception cref="BlobTooLargeException">The content grew past the limit; the upload is discarded.</exception>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>
    /// Flushes the content to disk and fixes its digest; when <paramref name="declaredDigest"/> is given
    /// the content must hash to it.
    /// </summary>
    /// <exception cref="BlobDigestMismatchException">The content hashes to another digest; the upload is discarded.</exception>
    Task CompleteAsync(string? declaredDigest, CancellationToken cancellationToken);

    /// <summary>Reads back the completed, not yet committed content (e.g. to parse it before accepting it).</summary>
    Stream OpenContent();

    /// <summary>
    /// Makes the completed content visible in the store under its digest, all at once (a file is renamed
    /// into place; an object is written whole): nobody ever reads a partial blob.
    /// </summary>
    StoredBlob Commit();

    /// <summary><see cref="Commit"/> without blocking a thread on a remote store.</summary>
    Task<StoredBlob> CommitAsync(CancellationToken cancellationToken);
}

/// <summary>A blob in the store.</summary>
/// <param name="Digest">SHA-256, lower-case hex.</param>
/// <param name="Size">Bytes.</param>
/// <param name="Created">True when this commit wrote it; false when identical content was already stored.</param>
public sealed record StoredBlob(string Digest, long Size, bool Created);
