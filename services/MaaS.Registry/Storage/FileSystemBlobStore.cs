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
        return new VerifyingReadStream(file, digest, size, Corrupted);
    }

    /// <inheritdoc />
    public bool Exists(string digest) => File.Exists(PathOf(digest));

    /// <inheritdoc />
    public void Delete(string digest) => TryDelete(PathOf(digest));

    /// <inheritdoc />
    public Task DeleteAsync(string digest, CancellationToken cancellationToken)
    {
        Delete(digest);
        return Task.CompletedTask;
    }

    private BlobCorruptedException Corrupted(string digest, string problem)
    {
        var error = new BlobCorruptedException(digest, problem);
        LogCorrupted(_logger, digest, problem);
        return error;
    }

    private static void TryDelete(string path) => StagedUpload.TryDelete(path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Blob {Digest} refused: {Problem}")]
    private static partial void LogCorrupted(ILogger logger, string digest, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blob {Digest} was damaged on disk and is replaced by a fresh upload of the same content")]
    private static partial void LogRepaired(ILogger logger, string digest);

    private sealed class Upload(FileSystemBlobStore store, string tempPath, long maxBytes) : StagedUpload(tempPath, maxBytes)
    {
        protected override StoredBlob CommitCompleted()
        {
            var digest = Digest;
            var finalPath = store.PathOf(digest);
            Directory.CreateDirectory(Path.GetDirectoryName(finalPath)!);

            var existing = new FileInfo(finalPath);
            if (existing.Exists)
            {
                if (existing.Length == Length && HashFile(finalPath) == digest)
                {
                    // Identical content is stored once.
                    TryDelete(TempPath);
                    return new StoredBlob(digest, Length, Created: false);
                }
                LogRepaired(store._logger, digest);
                File.Move(TempPath, finalPath, overwrite: true);
                return new StoredBlob(digest, Length, Created: false);
            }

            try
            {
                File.Move(TempPath, finalPath, overwrite: false);
            }
            catch (IOException) when (File.Exists(finalPath))
            {
                // Another upload of the same bytes got there first; its copy is as good as ours.
                TryDelete(TempPath);
                return new StoredBlob(digest, Length, Created: false);
            }
            return new StoredBlob(digest, Length, Created: true);
        }
    }
}
