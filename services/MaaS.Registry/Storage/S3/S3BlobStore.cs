using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace MaaS.Registry.Storage.S3;

/// <summary>
/// Blobs as objects of an S3-compatible bucket, keyed by digest: <c>{prefix}sha256/{first 2 hex}/{64 hex}</c>.
/// An upload is staged in a local temporary file and hashed as it arrives (<see cref="StagedUpload"/>);
/// only once its digest is known and accepted is it written to the bucket, in one PutObject, so a
/// reader never sees a partial or unverified object. The request is signed over the whole body's
/// SHA-256, which the server checks too. Every read hashes the object as it streams and refuses it at
/// the end if the bytes are not the ones named.
/// </summary>
public sealed partial class S3BlobStore : IBlobStore, IDisposable
{
    private readonly IAmazonS3 _s3;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly string _tempDirectory;
    private readonly ILogger<S3BlobStore> _logger;

    /// <summary>A store on <paramref name="s3"/>; clears uploads a crash left in <paramref name="tempDirectory"/>.</summary>
    public S3BlobStore(IAmazonS3 s3, string bucket, string keyPrefix, string tempDirectory, ILogger<S3BlobStore> logger)
    {
        _s3 = s3;
        _bucket = bucket;
        _prefix = keyPrefix;
        _tempDirectory = tempDirectory;
        _logger = logger;
        Directory.CreateDirectory(_tempDirectory);
        // This process owns the folder: a temporary file at start belongs to an upload that died with a crash.
        foreach (var stale in Directory.EnumerateFiles(_tempDirectory))
        {
            StagedUpload.TryDelete(stale);
        }
    }

    /// <summary>A client for <paramref name="options"/>: path-style, signed whole-body uploads, checksums only where required.</summary>
    public static IAmazonS3 CreateClient(S3BlobStoreOptions options)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            // Flexible checksums (CRC trailers in aws-chunked bodies) are not spoken by every S3-compatible
            // server; our own SHA-256 and the signed payload hash already guard the bytes.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (!string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = string.IsNullOrWhiteSpace(options.Region) ? "us-east-1" : options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        return string.IsNullOrEmpty(options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    /// <summary>Folder of uploads in progress (tests check that failures leave nothing there).</summary>
    public string TempDirectory => _tempDirectory;

    /// <summary>The object key of the blob with this digest.</summary>
    public string KeyOf(string digest)
    {
        if (!Digests.IsSha256Hex(digest))
        {
            throw new ArgumentException($"'{digest}' is not a sha256 digest of 64 lower-case hex characters.", nameof(digest));
        }
        return $"{_prefix}sha256/{digest[..2]}/{digest}";
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
        var key = KeyOf(digest);
        GetObjectResponse response;
        try
        {
            // The interface opens synchronously; this waits for the response headers only, the body streams later.
            response = _s3.GetObjectAsync(_bucket, key).GetAwaiter().GetResult();
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw Corrupted(digest, "the object is missing from the bucket");
        }
        if (response.ContentLength != size)
        {
            var actual = response.ContentLength;
            response.Dispose();
            throw Corrupted(digest, $"it has {actual} bytes, the registry recorded {size}");
        }
        return new VerifyingReadStream(response.ResponseStream, digest, size, Corrupted, response);
    }

    /// <inheritdoc />
    public bool Exists(string digest) => HeadAsync(KeyOf(digest), CancellationToken.None).GetAwaiter().GetResult() is not null;

    /// <inheritdoc />
    public void Delete(string digest) => DeleteAsync(digest, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public async Task DeleteAsync(string digest, CancellationToken cancellationToken) =>
        // S3 answers a delete of a missing key with success too.
        await _s3.DeleteObjectAsync(_bucket, KeyOf(digest), cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _s3.Dispose();

    private async Task<GetObjectMetadataResponse?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return await _s3.GetObjectMetadataAsync(_bucket, key, cancellationToken);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task<string?> HashObjectAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _s3.GetObjectAsync(_bucket, key, cancellationToken);
            using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await response.ResponseStream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                sha.AppendData(buffer, 0, n);
            }
            return Digests.ToHex(sha.GetHashAndReset());
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private BlobCorruptedException Corrupted(string digest, string problem)
    {
        var error = new BlobCorruptedException(digest, problem);
        LogCorrupted(_logger, digest, problem);
        return error;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Blob {Digest} refused: {Problem}")]
    private static partial void LogCorrupted(ILogger logger, string digest, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blob {Digest} was damaged in the bucket and is replaced by a fresh upload of the same content")]
    private static partial void LogRepaired(ILogger logger, string digest);

    private sealed class Upload(S3BlobStore store, string tempPath, long maxBytes) : StagedUpload(tempPath, maxBytes)
    {
        protected override StoredBlob CommitCompleted() => CommitCompletedAsync(CancellationToken.None).GetAwaiter().GetResult();

        protected override async Task<StoredBlob> CommitCompletedAsync(CancellationToken cancellationToken)
        {
            var digest = Digest;
            var key = store.KeyOf(digest);
            var existing = await store.HeadAsync(key, cancellationToken);
            var repaired = false;
            if (existing is not null)
            {
                // Identical content is stored once; a damaged copy (other size or other bytes) is replaced.
                if (existing.ContentLength == Length && await store.HashObjectAsync(key, cancellationToken) == digest)
                {
                    return new StoredBlob(digest, Length, Created: false);
                }
                LogRepaired(store._logger, digest);
                repaired = true;
            }
            await using (var content = new FileStream(TempPath, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize,
                FileOptions.Asynchronous | FileOptions.SequentialScan))
            {
                await store._s3.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = store._bucket,
                    Key = key,
                    InputStream = content,
                    AutoCloseStream = false,
                    ContentType = "application/octet-stream",
                    // Signed over the SHA-256 of the whole body (no aws-chunked framing): the server refuses
                    // bytes that changed on the way, and servers without chunked decoding store them as sent.
                    UseChunkEncoding = false,
                    Metadata = { ["sha256"] = digest },
                }, cancellationToken);
            }
            return new StoredBlob(digest, Length, Created: !repaired);
        }
    }
}
