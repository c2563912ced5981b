namespace MaaS.Registry.Storage;

/// <summary>
/// Makes "artifact and metadata stored together or not at all" hold: the blob is moved into the store
/// and its metadata committed under one process-wide gate; if the metadata fails, a blob this upload
/// created and nothing references is removed again. The gate keeps a concurrent upload of the same
/// bytes from committing metadata for a blob that is being rolled back.
/// </summary>
public sealed partial class BlobCommitter(IBlobStore blobs, RegistryDatabase database, ILogger<BlobCommitter> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Commits <paramref name="upload"/> and then the metadata that points at it.</summary>
    public async Task<T> CommitAsync<T>(IBlobUpload upload, Func<StoredBlob, CancellationToken, Task<T>> storeMetadata)
    {
        // Past this point the client's cancellation no longer matters: half a commit is worse than a late one.
        await _gate.WaitAsync(CancellationToken.None);
        try
        {
            var blob = upload.Commit();
            try
            {
                return await storeMetadata(blob, CancellationToken.None);
            }
            catch
            {
                if (blob.Created)
                {
                    await RemoveIfUnreferencedAsync(blob.Digest);
                }
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task RemoveIfUnreferencedAsync(string digest)
    {
        try
        {
            await using var connection = await database.OpenAsync(CancellationToken.None);
            var referenced = connection.Scalar("""
                SELECT EXISTS(SELECT 1 FROM versions WHERE artifact_digest = $d)
                    OR EXISTS(SELECT 1 FROM datasets WHERE digest = $d);
                """, null, ("$d", digest));
            if (Convert.ToInt64(referenced) == 0)
            {
                blobs.Delete(digest);
                LogRolledBack(logger, digest);
            }
        }
        catch (Exception ex)
        {
            // An orphaned blob is harmless; a deleted blob that something references is not. Keep it.
            LogRollbackSkipped(logger, ex, digest);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Blob {Digest} removed: its metadata could not be stored")]
    private static partial void LogRolledBack(ILogger logger, string digest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blob {Digest} kept after a failed commit: could not check its references")]
    private static partial void LogRollbackSkipped(ILogger logger, Exception ex, string digest);
}
