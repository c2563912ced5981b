namespace MaaS.Registry.Storage;

/// <summary>Base of the blob store's refusals; each message is a sentence a caller can act on.</summary>
public abstract class BlobStoreException(string message) : Exception(message);

/// <summary>The content grew past the size limit of the upload.</summary>
public sealed class BlobTooLargeException(long limit)
    : BlobStoreException($"The content exceeds the limit of {limit} bytes.")
{
    /// <summary>The limit in bytes.</summary>
    public long Limit { get; } = limit;
}

/// <summary>The content's SHA-256 is not the digest the caller declared.</summary>
public sealed class BlobDigestMismatchException(string declared, string computed)
    : BlobStoreException($"The declared digest {declared} does not match the content's sha256 {computed}.")
{
    /// <summary>Digest the caller declared.</summary>
    public string Declared { get; } = declared;

    /// <summary>Digest of the bytes received.</summary>
    public string Computed { get; } = computed;
}

/// <summary>A stored blob is missing, truncated or its bytes no longer hash to its name.</summary>
public sealed class BlobCorruptedException(string digest, string problem)
    : BlobStoreException($"Stored blob {digest} is damaged ({problem}); it cannot be served. Register or upload the content again.")
{
    /// <summary>Digest (name) of the blob.</summary>
    public string Digest { get; } = digest;
}
