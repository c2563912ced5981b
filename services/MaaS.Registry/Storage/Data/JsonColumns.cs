using System.Text.Json;

namespace MaaS.Registry.Storage.Data;

/// <summary>How JSON text columns (signatures, metrics, schemas) are written and read, whatever the database.</summary>
internal static class JsonColumns
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>A value as a JSON column.</summary>
    public static string ToJson<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>A JSON column as a value.</summary>
    public static T FromJson<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new InvalidDataException($"A JSON column holds null where a {typeof(T).Name} was expected.");
}

/// <summary>One page of a keyset-paged listing.</summary>
/// <param name="Items">The rows of this page.</param>
/// <param name="More">Whether rows follow the last one.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, bool More)
{
    /// <summary>Trims the one extra row a query fetched to learn whether more follow.</summary>
    public static Page<T> From(List<T> rows, int limit) =>
        rows.Count > limit ? new Page<T>(rows.GetRange(0, limit), true) : new Page<T>(rows, false);
}
