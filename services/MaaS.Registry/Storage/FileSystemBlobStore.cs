using System.Security.Cryptography;

namespace MaaS.Registry.Storage;

/// <summary>
/// Blobs as files named by their digest: <c>{root}/sha256/{first 2 hex}/{64 hex}</c>. Uploads go to
/// <c>{root}/tmp</c> first and are renamed into place only once their digest is known and accepted, so a
/// reader never sees a half-written blob and a crash leaves at most a temporary file behind.
/// </summary>
public sealed partial class FileSystemBlobStore : IBlobStore
{
    private const int BufferSize = 64 * 1024;

    private readonly string _blobDirectory;
    private readonly string _tempDirectory;
    private readonly ILogger<FileSystemBlobStore> _logger;

    /// <summary>Creates the store under <paramref name="root"/> and clears uploads a crash left behind.</summary>
    public FileSystemBlobStore(string root, ILogger<FileSystemBlobStore> logger)
    {
        _logger = logger;
        _blobDirectory = Path.Combine(root, "sha256");
        _tempDirectory = Path.Combine(root, "tmp");
        Directory.CreateDirectory(_blobDirectory);
        Directory.CreateDirectory(_tempDirectory);
        // This process owns the folder: a temporary file at start belongs to an upload that died with a crash.
        foreach (var stale in Directory.EnumerateFiles(_tempDirectory))
        {
            TryDelete(stale);
        }
    }

    /// <summary>Folder of uploads in progress (tests check that failures leave nothing there).</summary>
    public string TempDirectory => _tempDirectory;

    /// <summary>Where the blob with this digest lives.</summary>
    public string PathOf(string digest)
    {
        if (!Digests.IsSha256Hex(digest))
        {
            throw new ArgumentException($"'{digest}' is not a sha256 digest of 64 lower-case hex characters.", nameof(digest));
        }
        return Path.Combine(_blobDirectory, digest[..2], digest);
    }

    /// <inheritdoc />
    public IBlobUpload BeginUpload(long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        return new Upload(this, Path.Combine(_tempDirectory, Guid.NewGuid().ToString("N") + ".part"), maxBytes);
    }

    /// <inheritdoc />
    public Stream OpenRead(string digest, long size)
    {
        var path = PathOf(digest);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw Corrupted(digest, "the file is missing");
        }
        if (file.Length != size)
        {
            var actual = file.Length;
            file.Dispose();
            throw Corrupted(digest, $"it has {actual} bytes, the registry recorded {size}");
        }
        return new VerifyingReadStream(file, digest, size, this);
    }

    /// <inheritdoc />
    public bool Exists(string digest) => File.Exists(PathOf(digest));

    /// <inheritdoc />
    public void Delete(string digest) => TryDelete(PathOf(digest));

    private BlobCorruptedException Corrupted(string digest, string problem)
    {
        var error = new BlobCorruptedException(digest, problem);
        LogCorrupted(_logger, digest, problem);
        return error;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { /* in use or gone: the next start clears the temporary folder */ }
        catch (UnauthorizedAccessException) { }
    }

    private static string HashFile(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);
        return Digests.ToHex(SHA256.HashData(file));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Blob {Digest} refused: {Problem}")]
    private static partial void LogCorrupted(ILogger logger, string digest, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blob {Digest} was damaged on disk and is replaced by a fresh upload of the same content")]
    private static partial void LogRepaired(ILogger logger, string digest);

    private enum UploadState { Writing, Completed, Committed, Discarded }

    private sealed class Upload(FileSystemBlobStore store, string tempPath, long maxBytes) : IBlobUpload
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private FileStream? _file = new(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous);
        private UploadState _state = UploadState.Writing;
        private string? _digest;

        public long Length { get; private set; }

        public string Digest => _digest ?? throw new InvalidOperationException("The digest is known only after CompleteAsync.");

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            Expect(UploadState.Writing);
            if (data.Length > maxBytes - Length)
            {
                await DiscardAsync();
                throw new BlobTooLargeException(maxBytes);
            }
            _hash.AppendData(data.Span);
            await _file!.WriteAsync(data, cancellationToken);
            Length += data.Length;
        }

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

        public Stream OpenContent()
        {
            Expect(UploadState.Completed);
            return new FileStream(tempPath, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
        }

        public StoredBlob Commit()
        {
            Expect(UploadState.Completed);
            var digest = Digest;
            var finalPath = store.PathOf(digest);
            Directory.CreateDirectory(Path.GetDirectoryName(finalPath)!);

            var existing = new FileInfo(finalPath);
            if (existing.Exists)
            {
                if (existing.Length == Length && HashFile(finalPath) == digest)
                {
                    // Identical content is stored once.
                    TryDelete(tempPath);
                    _state = UploadState.Committed;
                    return new StoredBlob(digest, Length, Created: false);
                }
                LogRepaired(store._logger, digest);
                File.Move(tempPath, finalPath, overwrite: true);
                _state = UploadState.Committed;
                return new StoredBlob(digest, Length, Created: false);
            }

            try
            {
                File.Move(tempPath, finalPath, overwrite: false);
            }
            catch (IOException) when (File.Exists(finalPath))
            {
                // Another upload of the same bytes got there first; its copy is as good as ours.
                TryDelete(tempPath);
                _state = UploadState.Committed;
                return new StoredBlob(digest, Length, Created: false);
            }
            _state = UploadState.Committed;
            return new StoredBlob(digest, Length, Created: true);
        }

        public async ValueTask DisposeAsync()
        {
            if (_state != UploadState.Committed)
            {
                await DiscardAsync();
            }
            _hash.Dispose();
        }

        private async ValueTask DiscardAsync()
        {
            if (_file is not null)
            {
                await _file.DisposeAsync();
                _file = null;
            }
            TryDelete(tempPath);
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

    /// <summary>Hands out the blob's bytes and, at the end, proves they hash to the blob's name.</summary>
    private sealed class VerifyingReadStream(FileStream inner, string digest, long size, FileSystemBlobStore store) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _read;
        private bool _verified;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => size;
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            Account(buffer[..n]);
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            Account(buffer.Span[..n]);
            return n;
        }

        private void Account(ReadOnlySpan<byte> data)
        {
            if (data.Length > 0)
            {
                _hash.AppendData(data);
                _read += data.Length;
                return;
            }
            if (_verified) return;
            _verified = true;
            if (_read != size)
            {
                throw store.Corrupted(digest, $"{_read} bytes were read, the registry recorded {size}");
            }
            var actual = Digests.ToHex(_hash.GetHashAndReset());
            if (actual != digest)
            {
                throw store.Corrupted(digest, $"its bytes hash to {actual}");
            }
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                _hash.Dispose();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            _hash.Dispose();
            await base.DisposeAsync();
        }
    }
}
