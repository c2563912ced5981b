namespace MaaS.Registry.Market;

/// <summary>Where the model market's catalog lives.</summary>
public sealed class MarketOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Market";

    /// <summary>
    /// Catalog folder (models/&lt;name&gt;/{model.onnx, card.json, data.csv}, templates/&lt;name&gt;.json); empty = the
    /// catalog shipped with the registry, Market/catalog next to its binaries. A relative path is taken from the working directory.
    /// </summary>
    public string CatalogDirectory { get; set; } = "";

    /// <summary>The folder to load and whether it was chosen by configuration (then it must exist).</summary>
    public (string Directory, bool Configured) Resolve() => string.IsNullOrWhiteSpace(CatalogDirectory)
        ? (Path.Combine(AppContext.BaseDirectory, "Market", "catalog"), false)
        : (Path.GetFullPath(CatalogDirectory), true);
}
