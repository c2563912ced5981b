namespace MaaS.Registry.Storage;

/// <summary>
/// Makes "artifact and metadata stored together or not at all" hold: the blob is moved into the store
/// and its metadata committed under one process-wide gate; if the metadata fails, a blob this upload
/// created and nothing references is removed again. Deleting metadata and then its unreferenced blob
/// takes the same gate, so a concurrent upload of the same bytes can never end up pointing at a blob
/// that is being removed. The gate spans every registry process on the same database
/// (<see cref="Data.IRegistryDialect.LockBlobsAsync"/>), so replicas sharing one blob store keep the rule too.
/// </summary>
public sealed partial class BlobCommitter(IBlobStore blobs, ModelStore references, Data.IRegistryDialect database, ILogger<BlobCommitter> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Commits <paramref name="upload"/> and then the metadata that points at it.</summary>
    public async Task<T> CommitAsync<T>(IBlobUpload upload, Func<StoredBlob, CancellationToken, Task<T>> storeMetadata)
    {
        // Past this point the client's cancellation no longer matters: half a commit is worse than a late one.
        await _gate.WaitAsync(CancellationToken.None);
        try
        {
            await using var replicas = await database.LockBlobsAsync();
            var blob = await upload.CommitAsync(CancellationToken.None);
            try
            {
                return await storeMetadata(blob, CancellationToken.None);
            }
            catch
            {
                if (blob.Created)
                {
                    await RemoveIfUnreferencedAsync(blob.Digest, LogRolledBack);
                }
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="deleteMetadata"/> (which commits the removal of a row naming a blob), then
    /// removes that blob when no version or dataset stores it any more.
    /// </summary>
    /// <returns>The metadata step's result and whether the blob was removed.</returns>
    public async Task<(T Result, bool BlobDeleted)> DeleteAsync<T>(Func<CancellationToken, Task<T>> deleteMetadata, Func<T, string> digestOf)
    {
        await _gate.WaitAsync(CancellationToken.None);
        try
        {
            await using var replicas = await database.LockBlobsAsync();
            var result = await deleteMetadata(CancellationToken.None);
            var deleted = await RemoveIfUnreferencedAsync(digestOf(result), LogDeleted);
            return (result, deleted);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<bool> RemoveIfUnreferencedAsync(string digest, Action<ILogger, string> logRemoved)
    {
        try
        {
            if (await references.IsDigestReferencedAsync(digest, CancellationToken.None)) return false;
            await blobs.DeleteAsync(digest, CancellationToken.None);
            logRemoved(logger, digest);
            return true;
        }
        catch (Exception ex)
        {
            // An orphaned blob is harmless; a deleted blob that something references is not. Keep it.
            LogRemovalSkipped(logger, ex, digest);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Blob {Digest} removed: its metadata could not be stored")]
    private static partial void LogRolledBack(ILogger logger, string digest);

    [LoggerMessage(Level = LogLevel.Information, Message = "Blob {Digest} removed: nothing stores it any more")]
    private static partial void LogDeleted(ILogger logger, string digest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blob {Digest} kept: could not check its references")]
    private static partial void LogRemovalSkipped(ILogger logger, Exception ex, string digest);
}
