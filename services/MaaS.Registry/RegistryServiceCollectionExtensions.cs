using MaaS.Registry.Storage;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Outbox;
using Microsoft.Extensions.Options;

namespace MaaS.Registry;

/// <summary>Everything the registry registers beyond the service defaults.</summary>
public static class RegistryServiceCollectionExtensions
{
    /// <summary>Options, the SQLite store (migrated at start), the blob store and the outbox dispatcher.</summary>
    public static WebApplicationBuilder AddRegistry(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RegistryOptions>().BindConfiguration(RegistryOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();

        builder.Services.AddSingleton(sp => RegistryPaths.Resolve(
            sp.GetRequiredService<IOptions<RegistryOptions>>().Value,
            sp.GetRequiredService<IOptions<MeshHostOptions>>().Value));
        builder.Services.AddSingleton<RegistryDatabase>();
        builder.Services.AddSingleton<IOutboxDatabase>(sp => sp.GetRequiredService<RegistryDatabase>());
        builder.Services.AddSingleton<ModelStore>();
        builder.Services.AddSingleton<DatasetStore>();
        builder.Services.AddSingleton<IBlobStore>(sp => new FileSystemBlobStore(
            sp.GetRequiredService<RegistryPaths>().BlobDirectory,
            sp.GetRequiredService<ILogger<FileSystemBlobStore>>()));
        builder.Services.AddSingleton<BlobCommitter>();

        // Storage is ready (schema migrated, blob folders laid out) before anything serves a call.
        builder.Services.AddHostedService<RegistryStorageInitializer>();
        builder.Services.AddSqliteOutbox();
        return builder;
    }
}
