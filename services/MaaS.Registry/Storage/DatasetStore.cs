using System.Data.Common;
using MaaS.Contracts;
using MaaS.Registry.Datasets;
using MaaS.Registry.Storage.Data;
using MaaS.Registry.V1;

namespace MaaS.Registry.Storage;

/// <summary>Dataset versions: a name, a number per name, the digest of their content in the blob store, schema and statistics.</summary>
public sealed class DatasetStore(RegistryDb database)
{
    /// <summary>
    /// Stores a dataset version whose content is already in the blob store, with its
    /// <see cref="DatasetVersionCreated"/> event; number = highest + 1 for the name, taken in the same write session.
    /// </summary>
    public async Task<DatasetVersion> InsertAsync(string name, string format, string description, StoredBlob content,
        long rowCount, IReadOnlyList<string> columns, DatasetProfile profile, CancellationToken cancellationToken)
    {
        await using var db = await database.WriteAsync(cancellationToken);
        await db.ExecuteAsync(db.Sql.LockDatasetName, cancellationToken, ("name", name));
        var number = await db.LongAsync(db.Sql.NextDatasetVersion, cancellationToken, ("name", name)) ?? 1;
        await db.ExecuteAsync(db.Sql.InsertDataset, cancellationToken,
            ("name", name), ("version", number), ("digest", content.Digest), ("size", content.Size), ("rows", rowCount),
            ("columns", JsonColumns.ToJson(columns)), ("format", format), ("description", description), ("at", db.Now),
            ("schema", JsonColumns.ToJson(profile.Schema.Select(s => new ColumnJson(s.Name, s.Datatype)).ToList())),
            ("statistics", JsonColumns.ToJson(profile.Statistics.Select(StatisticsJson.From).ToList())));
        db.Publish(new DatasetVersionCreated
        {
            DatasetName = name,
            Version = number,
            Digest = content.Digest,
            Size = content.Size,
            RowCount = rowCount,
            Schema = profile.Schema.Select(s => new DatasetColumn { Name = s.Name, Datatype = s.Datatype }).ToList(),
        });
        var stored = await db.FirstAsync(db.Sql.SelectDataset, r => ToDataset(db, r), cancellationToken, ("name", name), ("version", number))
            ?? throw new InvalidOperationException($"Dataset '{name}' version {number} vanished inside its own transaction.");
        await db.CommitAsync(cancellationToken);
        return stored;
    }

    /// <summary>One dataset version (0 = the latest), or null.</summary>
    public async Task<DatasetVersion?> GetAsync(string name, long version, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        return version == 0
            ? await db.FirstAsync(db.Sql.SelectLatestDataset, r => ToDataset(db, r), cancellationToken, ("name", name))
            : await db.FirstAsync(db.Sql.SelectDataset, r => ToDataset(db, r), cancellationToken, ("name", name), ("version", version));
    }

    /// <summary>One page of the versions of one dataset, oldest first.</summary>
    public async Task<Page<DatasetVersion>> ListVersionsAsync(string name, long after, int limit, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        var rows = await db.QueryAsync(db.Sql.ListDatasetVersions, r => ToDataset(db, r), cancellationToken,
            ("name", name), ("after", after), ("limit", limit + 1));
        return Page<DatasetVersion>.From(rows, limit);
    }

    /// <summary>One page of the latest version of each dataset whose name starts with <paramref name="prefix"/>, by name.</summary>
    public async Task<Page<DatasetVersion>> ListLatestAsync(string prefix, string after, int limit, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        var rows = await db.QueryAsync(db.Sql.ListLatestDatasets, r => ToDataset(db, r), cancellationToken,
            ("after", after), ("prefix", prefix), ("prefix_end", prefix + "~"), ("limit", limit + 1));
        return Page<DatasetVersion>.From(rows, limit);
    }

    private static DatasetVersion ToDataset(DbSession db, DbDataReader reader)
    {
        var dataset = new DatasetVersion
        {
            Name = reader.GetString(0),
            Version = reader.GetInt64(1),
            Digest = reader.GetString(2),
            Size = reader.GetInt64(3),
            RowCount = reader.GetInt64(4),
            Format = reader.GetString(6),
            Description = reader.GetString(7),
            CreatedAt = db.Timestamp(reader, 8),
        };
        dataset.Columns.AddRange(JsonColumns.FromJson<List<string>>(reader.GetString(5)));
        dataset.Schema.AddRange(JsonColumns.FromJson<List<ColumnJson>>(reader.GetString(9))
            .Select(c => new ColumnSchema { Name = c.Name, Datatype = c.Datatype }));
        dataset.Statistics.AddRange(JsonColumns.FromJson<List<StatisticsJson>>(reader.GetString(10)).Select(s => s.ToProto()));
        return dataset;
    }

    /// <summary>One column of the schema column.</summary>
    private sealed record ColumnJson(string Name, string Datatype);

    /// <summary>One column of the statistics column.</summary>
    private sealed record StatisticsJson(string Name, long Count, double Mean, double Std, double Min, double Max)
    {
        public static StatisticsJson From(ColumnStatistics s) => new(s.Name, s.Count, s.Mean, s.Std, s.Min, s.Max);

        public ColumnStatistics ToProto() => new() { Name = Name, Count = Count, Mean = Mean, Std = Std, Min = Min, Max = Max };
    }
}
