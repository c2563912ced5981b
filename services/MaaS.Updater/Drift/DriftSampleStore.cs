using System.Globalization;
using System.Runtime.InteropServices;
using MaaS.Contracts;
using MaaS.Updater.Storage;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Drift;

/// <summary>
/// The sampled inference inputs of every model (table drift_samples of the updater's SQLite file): the
/// newest <see cref="DriftOptions.MaxSamplesPerModel"/> rows per model, whichever replica or version saw them.
/// </summary>
public sealed class DriftSampleStore(UpdaterDatabase database, IOptions<DriftOptions> options)
{
    /// <summary>
    /// Stores the rows of one InputsSampled event and prunes the model's oldest rows beyond the limit, in one
    /// transaction. Returns the rows stored: 0 for an event already stored (a redelivery).
    /// </summary>
    public int Add(string model, long version, string replica, Guid eventId, IReadOnlyList<double[]> rows)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        using (var seen = connection.CreateCommand())
        {
            seen.Transaction = tx;
            seen.CommandText = "SELECT 1 FROM drift_samples WHERE event_id = $e LIMIT 1";
            seen.Parameters.AddWithValue("$e", eventId.ToString("N"));
            if (seen.ExecuteScalar() is not null)
            {
                return 0;
            }
        }
        var keep = options.Value.MaxSamplesPerModel;
        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = tx;
            insert.CommandText = """
                INSERT INTO drift_samples (model, version, replica, event_id, row_values, received_at)
                VALUES ($m, $v, $r, $e, $values, $at)
                """;
            insert.Parameters.AddWithValue("$m", model);
            insert.Parameters.AddWithValue("$v", version);
            insert.Parameters.AddWithValue("$r", replica);
            insert.Parameters.AddWithValue("$e", eventId.ToString("N"));
            insert.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            var values = insert.Parameters.Add("$values", Microsoft.Data.Sqlite.SqliteType.Blob);
            // Only the newest rows could survive the pruning below.
            foreach (var row in rows.Skip(Math.Max(0, rows.Count - keep)))
            {
                values.Value = MemoryMarshal.AsBytes(row.AsSpan()).ToArray();
                insert.ExecuteNonQuery();
            }
        }
        using (var prune = connection.CreateCommand())
        {
            prune.Transaction = tx;
            prune.CommandText = """
                DELETE FROM drift_samples WHERE model = $m AND id <= (
                    SELECT id FROM drift_samples WHERE model = $m ORDER BY id DESC LIMIT 1 OFFSET $keep)
                """;
            prune.Parameters.AddWithValue("$m", model);
            prune.Parameters.AddWithValue("$keep", keep);
            prune.ExecuteNonQuery();
        }
        tx.Commit();
        return Math.Min(rows.Count, keep);
    }

    /// <summary>The newest <paramref name="window"/> sampled rows of <paramref name="model"/>, newest first.</summary>
    public List<double[]> Newest(string model, int window)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT row_values FROM drift_samples WHERE model = $m ORDER BY id DESC LIMIT $n";
        cmd.Parameters.AddWithValue("$m", model);
        cmd.Parameters.AddWithValue("$n", window);
        using var reader = cmd.ExecuteReader();
        var rows = new List<double[]>();
        while (reader.Read())
        {
            rows.Add(MemoryMarshal.Cast<byte, double>((byte[])reader[0]).ToArray());
        }
        return rows;
    }

    /// <summary>How many sampled rows of <paramref name="model"/> are stored.</summary>
    public long Count(string model)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM drift_samples WHERE model = $m";
        cmd.Parameters.AddWithValue("$m", model);
        return (long)cmd.ExecuteScalar()!;
    }
}
