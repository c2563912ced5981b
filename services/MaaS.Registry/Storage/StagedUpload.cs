using System.Security.Cryptography;

namespace MaaS.Registry.Storage;

/// <summary>
/// The part of an upload every blob store shares: the bytes go to a private temporary file and are
/// hashed as they arrive, the size limit is enforced on the way, and the digest is fixed (and compared
/// with the declared one) before the store is asked to make anything visible. A store only says how a
/// completed file becomes a blob (<see cref="CommitAsync"/>).
/// </summary>
public abstract class StagedUpload : IBlobUpload
{
    /// <summary>Buffer of temporary-file writes and reads.</summary>
    protected const int BufferSize = 64 * 1024;

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly long _maxBytes;
    private FileStream? _file;
    private UploadState _state = UploadState.Writing;
    private string? _digest;

    /// <summary>Creates the temporary file (which must not exist yet).</summary>
    protected StagedUpload(string tempPath, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        TempPath = tempPath;
        _maxBytes = maxBytes;
        _file = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous);
    }

    private enum UploadState { Writing, Completed, Committed, Discarded }

    /// <summary>The temporary file.</summary>
    protected string TempPath { get; }

    /// <inheritdoc />
    public long Length { get; private set; }

    /// <inheritdoc />
    public string Digest => _digest ?? throw new InvalidOperationException("The digest is known only after CompleteAsync.");

    /// <inheritdoc />
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        Expect(UploadState.Writing);
        if (data.Length > _maxBytes - Length)
        {
            await DiscardAsync();
            throw new BlobTooLargeException(_maxBytes);
        }
        _hash.AppendData(data.Span);
        await _file!.WriteAsync(data, cancellationToken);
        Length += data.Length;
    }

    /// <inheritdoc />
    public async Task CompleteAsync(string? declaredDigest, CancellationToken cancellationToken)
    {
        Expect(UploadState.Writing);
        await _file!.FlushAsync(cancellationToken);
        // The metadata that will point at this blob must never outlive its bytes after a power cut.
        _file.Flush(flushToDisk: true);
        await _file.DisposeAsync();
        _file = null;
        _digest = Digests.ToHex(_hash.GetHashAndReset());
        if (declaredDigest is not null && !string.Equals(declaredDigest, _digest, StringComparison.Ordinal))
        {
            await DiscardAsync();
            throw new BlobDigestMismatchException(declaredDigest, _digest);
        }
        _state = UploadState.Completed;
    }

    /// <inheritdoc />
    public Stream OpenContent()
    {
        Expect(UploadState.Completed);
        return new FileStream(TempPath, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
    }

    /// <inheritdoc />
    public StoredBlob Commit()
    {
        Expect(UploadState.Completed);
        var blob = CommitCompleted();
        _state = UploadState.Committed;
        return blob;
    }

    /// <inheritdoc />
    public async Task<StoredBlob> CommitAsync(CancellationToken cancellationToken)
    {
        Expect(UploadState.Completed);
        var blob = await CommitCompletedAsync(cancellationToken);
        _state = UploadState.Committed;
        return blob;
    }

    /// <summary>Makes the completed, verified temporary file the blob <see cref="Digest"/>; it may consume the file.</summary>
    protected abstract StoredBlob CommitCompleted();

    /// <summary><see cref="CommitCompleted"/> for a store that would otherwise block on I/O.</summary>
    protected virtual Task<StoredBlob> CommitCompletedAsync(CancellationToken cancellationToken) => Task.FromResult(CommitCompleted());

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_state != UploadState.Committed)
        {
            await DiscardAsync();
        }
        else
        {
            // A store that copied the bytes elsewhere leaves the file behind; one that renamed it has none.
            TryDelete(TempPath);
        }
        _hash.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Deletes a file, ignoring one that is gone or in use (the next start clears the temporary folder).</summary>
    protected internal static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The SHA-256 of a file, as hex.</summary>
    protected internal static string HashFile(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);
        return Digests.ToHex(SHA256.HashData(file));
    }

    private async ValueTask DiscardAsync()
    {
        if (_file is not null)
        {
            await _file.DisposeAsync();
            _file = null;
        }
        TryDelete(TempPath);
        _state = UploadState.Discarded;
    }

    private void Expect(UploadState state)
    {
        if (_state != state)
        {
            throw new InvalidOperationException($"The upload is {_state}; this step needs it {state}.");
        }
    }
}
