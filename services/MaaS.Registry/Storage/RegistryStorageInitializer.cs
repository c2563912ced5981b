using MaaS.Registry.Storage.Data;

namespace MaaS.Registry.Storage;

/// <summary>
/// Prepares storage at start: migrates the database and opens the blob store (which clears uploads a
/// crash left behind), so a broken or too-new database stops the service with its reason before any call.
/// </summary>
public sealed class RegistryStorageInitializer(IRegistryDialect database, IBlobStore blobs) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        database.EnsureMigrated();
        _ = blobs; // resolving the singleton is the point: it creates the layout and sweeps stale uploads
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
