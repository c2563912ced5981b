namespace MaaS.Cli.Framework;

/// <summary>Follows next_page_token until the last page or the limit.</summary>
public static class Paging
{
    /// <summary>The items of every page up to <paramref name="limit"/>, and the token of the page after them ("" when none).</summary>
    public static async Task<(List<T> Items, string NextPageToken)> AllAsync<T>(Func<string, int, Task<(IEnumerable<T> Items, string Next)>> fetch, int limit)
    {
        var items = new List<T>();
        var token = "";
        do
        {
            var (page, next) = await fetch(token, Math.Min(500, limit - items.Count));
            items.AddRange(page);
            token = next;
        }
        while (token.Length > 0 && items.Count < limit);
        if (items.Count > limit) items.RemoveRange(limit, items.Count - limit);
        return (items, token);
    }
}
