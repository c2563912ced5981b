using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Data;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Training;

/// <summary>
/// Parsed datasets by content digest and format, least recently used evicted past
/// <see cref="TrainerOptions.DatasetCacheMegabytes"/>. The key is the registry's sha256 of the bytes, so a hit is
/// the very table a download and parse would give; jobs never change a table, so one instance is shared.
/// </summary>
public sealed class DatasetCache(IOptions<TrainerOptions> options)
{
    private readonly long capacity = options.Value.DatasetCacheMegabytes * 1024L * 1024L;
    private readonly Lock gate = new();
    private readonly LinkedList<(string Key, NumericTable Table, long Bytes)> order = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, NumericTable Table, long Bytes)>> entries = new(StringComparer.Ordinal);
    private long size;

    /// <summary>Whether tables are kept at all (Trainer:DatasetCacheMegabytes &gt; 0).</summary>
    public bool Enabled => capacity > 0;

    /// <summary>The table of this dataset version's content, or null.</summary>
    public NumericTable? Get(DatasetVersion info)
    {
        if (Key(info) is not { } key) return null;
        lock (gate)
        {
            if (!entries.TryGetValue(key, out var node)) return null;
            order.Remove(node);
            order.AddFirst(node);
            return node.Value.Table;
        }
    }

    /// <summary>Keeps a parsed table (a table larger than the whole cache is not kept).</summary>
    public void Add(DatasetVersion info, NumericTable table)
    {
        if (Key(info) is not { } key) return;
        var bytes = SizeOf(table);
        if (bytes > capacity) return;
        lock (gate)
        {
            if (entries.ContainsKey(key)) return;
            entries[key] = order.AddFirst((key, table, bytes));
            size += bytes;
            while (size > capacity && order.Last is { } oldest)
            {
                order.RemoveLast();
                entries.Remove(oldest.Value.Key);
                size -= oldest.Value.Bytes;
            }
        }
    }

    // Without a digest the content cannot be told apart from another upload; such a dataset is not cached.
    private string? Key(DatasetVersion info) =>
        !Enabled || info.Digest.Length == 0 ? null : $"{info.Digest.ToLowerInvariant()}:{DatasetFormats.Resolve(info.Format) ?? info.Format}";

    // A row is a double[]: its values plus the array's header and the list's reference.
    private static long SizeOf(NumericTable table) => table.Rows.Count * (table.Columns.Count * 8L + 32L) + 1024;
}
