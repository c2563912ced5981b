namespace MaaS.Registry.Market;

/// <summary>
/// Loads the catalog at start (resolving the singleton is the load), so a broken card stops the registry
/// with the file and field named before any call is served.
/// </summary>
public sealed partial class MarketCatalogInitializer(MarketCatalog catalog, ILogger<MarketCatalogInitializer> logger) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var models = catalog.Entries.Count(e => e.Kind == V1.MarketEntryKind.Model);
        LogLoaded(logger, models, catalog.Entries.Count - models, catalog.Directory);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Market catalog loaded: {Models} ready models, {Templates} templates from {Directory}")]
    private static partial void LogLoaded(ILogger logger, int models, int templates, string directory);
}
