using Microsoft.Extensions.Options;

namespace MaaS.Registry.Market;

/// <summary>Registers the model market: options, the catalog (loaded at start), the installer.</summary>
public static partial class MarketServiceCollectionExtensions
{
    /// <summary>Adds the market to the registry.</summary>
    public static WebApplicationBuilder AddMarket(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<MarketOptions>().BindConfiguration(MarketOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton(sp => LoadCatalog(
            sp.GetRequiredService<IOptions<MarketOptions>>().Value, sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MarketCatalog))));
        builder.Services.AddHostedService<MarketCatalogInitializer>();
        builder.Services.AddSingleton<MarketInstaller>();
        return builder;
    }

    private static MarketCatalog LoadCatalog(MarketOptions options, ILogger logger)
    {
        var (directory, configured) = options.Resolve();
        if (Directory.Exists(directory))
        {
            return MarketCatalog.Load(directory);
        }
        if (configured)
        {
            throw new MarketCatalogException($"Market:CatalogDirectory '{directory}' does not exist; point it at a catalog folder or leave it empty for the shipped one.");
        }
        // A build without the shipped catalog still serves the registry; the market is just empty.
        LogNoCatalog(logger, directory);
        return MarketCatalog.Empty(directory);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No market catalog at {Directory}: the market is empty")]
    private static partial void LogNoCatalog(ILogger logger, string directory);
}
