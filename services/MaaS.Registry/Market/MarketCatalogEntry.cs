using MaaS.Registry.V1;

namespace MaaS.Registry.Market;

/// <summary>One loaded entry: its card as the API shows it, and for a model where its files are.</summary>
/// <param name="Card">The full card (kept private; callers get clones).</param>
/// <param name="ArtifactPath">Model: the ONNX file; null for a template.</param>
/// <param name="DataPath">Model: the training data shipped with it, or null.</param>
/// <param name="DataDigest">Model: sha256 of <paramref name="DataPath"/>, or empty.</param>
public sealed record MarketCatalogEntry(MarketEntry Card, string? ArtifactPath, string? DataPath, string DataDigest)
{
    /// <summary>Entry name.</summary>
    public string Name => Card.Name;

    /// <summary>Model or template.</summary>
    public MarketEntryKind Kind => Card.Kind;

    // Lower-cased once: the text a search looks through.
    private readonly string[] _haystack =
    [
        Card.Name.ToLowerInvariant(), Card.Title.ToLowerInvariant(), Card.IntendedUse.ToLowerInvariant(),
        Card.Description.ToLowerInvariant(), .. Card.Tags.Select(t => t.ToLowerInvariant()),
    ];

    /// <summary>The search line.</summary>
    public MarketEntrySummary Summary() => new()
    {
        Name = Card.Name,
        Kind = Card.Kind,
        Title = Card.Title,
        Task = Card.Task,
        Tags = { Card.Tags },
        Summary = Card.Kind == MarketEntryKind.Model ? Card.IntendedUse : Card.Description,
    };

    /// <summary>Whether every term occurs in the name, title, tags, intended use or description.</summary>
    public bool MatchesAll(IReadOnlyList<string> lowerTerms) =>
        lowerTerms.All(term => _haystack.Any(text => text.Contains(term, StringComparison.Ordinal)));

    /// <summary>Whether the entry carries <paramref name="tag"/>, ignoring case.</summary>
    public bool HasTag(string tag) => Card.Tags.Contains(tag, StringComparer.OrdinalIgnoreCase);
}
