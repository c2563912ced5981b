using MaaS.Registry.V1;
using Microsoft.Data.Sqlite;

namespace MaaS.Registry.Storage;

/// <summary>Dataset versions: a name, a number per name, and the digest of their content in the blob store.</summary>
public sealed class DatasetStore(RegistryDatabase database)
{
    private const string Columns = "name, version, digest, size, row_count, columns_json, format, description, created_at";

    /// <summary>
    /// Stores a dataset version whose content is already in the blob store; number = highest + 1 for the
    /// name, taken in the same write transaction as the insert.
    /// </summary>
    public async Task<DatasetVersion> InsertAsync(string name, string format, string description, StoredBlob content,
        long rowCount, IReadOnlyList<string> columns, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var number = Convert.ToInt64(connection.Scalar(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM datasets WHERE name = $name;", transaction, ("$name", name)));
        connection.Execute($"""
            INSERT INTO datasets({Columns}) VALUES ($name, $version, $digest, $size, $rows, $columns, $format, $description, $at);
            """, transaction,
            ("$name", name), ("$version", number), ("$digest", content.Digest), ("$size", content.Size), ("$rows", rowCount),
            ("$columns", Sql.ToJson(columns)), ("$format", format), ("$description", description), ("$at", Sql.Now()));
        var stored = Read(connection, transaction, name, number)
            ?? throw new InvalidOperationException($"Dataset '{name}' version {number} vanished inside its own transaction.");
        transaction.Commit();
        return stored;
    }

    /// <summary>One dataset version (0 = the latest), or null.</summary>
    public async Task<DatasetVersion?> GetAsync(string name, long version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return Read(connection, null, name, version);
    }

    private static DatasetVersion? Read(SqliteConnection connection, SqliteTransaction? transaction, string name, long version)
    {
        using var command = version == 0
            ? connection.Command($"SELECT {Columns} FROM datasets WHERE name = $name ORDER BY version DESC LIMIT 1;", transaction,
                ("$name", name))
            : connection.Command($"SELECT {Columns} FROM datasets WHERE name = $name AND version = $version;", transaction,
                ("$name", name), ("$version", version));
        using var reader = command.ExecuteReader();
        if (!reader.Read()) return null;
        var dataset = new DatasetVersion
        {
            Name = reader.GetString(0),
            Version = reader.GetInt64(1),
            Digest = reader.GetString(2),
            Size = reader.GetInt64(3),
            RowCount = reader.GetInt64(4),
            Format = reader.GetString(6),
            Description = reader.GetString(7),
            CreatedAt = Sql.ToTimestamp(reader.GetString(8)),
        };
        dataset.Columns.AddRange(Sql.FromJson<List<string>>(reader.GetString(5)));
        return dataset;
    }
}
