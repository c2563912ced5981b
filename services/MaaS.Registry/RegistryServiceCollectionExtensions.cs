using MaaS.Registry.Market;
using MaaS.Registry.Operations;
using MaaS.Registry.Storage;
using MaaS.Registry.Storage.Data;
using MaaS.Registry.Storage.Postgres;
using MaaS.Registry.Storage.S3;
using MaaS.Registry.Storage.Sqlite;
using MaaS.Registry.Telemetry;
using MaaS.Registry.Validation;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Outbox;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MaaS.Registry;

/// <summary>Everything the registry registers beyond the service defaults.</summary>
public static class RegistryServiceCollectionExtensions
{
    /// <summary>Options, the metadata store (migrated at start), the blob store, the operations and the outbox dispatcher.</summary>
    public static WebApplicationBuilder AddRegistry(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RegistryOptions>().BindConfiguration(RegistryOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.Pools.All(p => System.Text.RegularExpressions.Regex.IsMatch(p, RequestRules.PoolPattern)),
                $"Registry:Pools entries must match {RequestRules.PoolPattern}.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RegistryOptions>, RegistryOptionsValidator>();

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => RegistryPaths.Resolve(
            sp.GetRequiredService<IOptions<RegistryOptions>>().Value,
            sp.GetRequiredService<IOptions<MeshHostOptions>>().Value));

        // The data-access seam: one dialect per database (Registry:Store); the stores above it never change,
        // and the outbox dispatcher reads the same database the changes wrote their events to.
        builder.Services.AddSingleton<SqliteDialect>();
        builder.Services.AddSingleton<PostgresDialect>();
        builder.Services.AddSingleton<IRegistryDialect>(sp => UsesPostgres(sp)
            ? sp.GetRequiredService<PostgresDialect>()
            : sp.GetRequiredService<SqliteDialect>());
        builder.Services.AddSingleton<IOutboxDatabase>(sp => sp.GetRequiredService<SqliteDialect>());
        builder.Services.AddSingleton<IOutboxStore>(sp => UsesPostgres(sp)
            ? sp.GetRequiredService<PostgresDialect>()
            : new SqliteOutboxStore(sp.GetRequiredService<SqliteDialect>()));
        builder.Services.AddSingleton<RegistryDb>();
        builder.Services.AddSingleton<ModelStore>();
        builder.Services.AddSingleton<DatasetStore>();
        builder.Services.AddSingleton<DeploymentStore>();

        builder.Services.AddSingleton<IBlobStore>(CreateBlobStore);
        builder.Services.AddSingleton<BlobCommitter>();
        builder.Services.AddSingleton<RegistryOperations>();

        // Storage is ready (schema migrated, blob folders laid out) before anything serves a call.
        builder.Services.AddHostedService<RegistryStorageInitializer>();
        builder.Services.AddOutbox();
        builder.AddMarket();
        builder.Services.AddRegistryTelemetry();
        return builder;
    }

    private static bool UsesPostgres(IServiceProvider services) =>
        services.GetRequiredService<IOptions<RegistryOptions>>().Value.Store == RegistryOptions.StorePostgres;

    private static IBlobStore CreateBlobStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<RegistryOptions>>().Value;
        var root = services.GetRequiredService<RegistryPaths>().BlobDirectory;
        if (options.BlobStore != RegistryOptions.BlobStoreS3)
        {
            return new FileSystemBlobStore(root, services.GetRequiredService<ILogger<FileSystemBlobStore>>());
        }
        // Uploads are staged and verified on local disk before they go to the bucket.
        return new S3BlobStore(S3BlobStore.CreateClient(options.S3), options.S3.Bucket, options.S3.KeyPrefix,
            Path.Combine(root, "tmp"), services.GetRequiredService<ILogger<S3BlobStore>>());
    }
}
