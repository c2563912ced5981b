namespace MaaS.Registry.Market;

/// <summary>A catalog file breaks a rule; the message names the file and the field, and start-up stops.</summary>
public sealed class MarketCatalogException(string message) : Exception(message)
{
    /// <summary>A rule broken by one field of one file.</summary>
    public static MarketCatalogException Field(string file, string field, string rule) =>
        new($"Market catalog file '{file}': field '{field}' {rule}");
}
