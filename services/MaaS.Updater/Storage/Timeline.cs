using System.Globalization;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using MaaS.Updater.V1;
using Microsoft.Data.Sqlite;

namespace MaaS.Updater.Storage;

/// <summary>The kinds of timeline entries (ExplainModel's `kind`).</summary>
public static class TimelineKinds
{
    public const string DataIngested = "data_ingested";
    public const string RetrainTriggered = "retrain_triggered";
    public const string Training = "training";
    public const string Gate = "gate";
    public const string RolloutStep = "rollout_step";
    public const string RolledBack = "rolled_back";
    public const string RolloutCompleted = "rollout_completed";
    public const string AliasMoved = "alias_moved";
    public const string DriftChecked = "drift_checked";
}

/// <summary>
/// Appends to and reads a model's update timeline. Writers pass their own open connection (and
/// transaction) when the entry belongs to a change they commit, so the entry and the change are one.
/// </summary>
public sealed class Timeline(UpdaterDatabase database)
{
    /// <summary>Appends an entry on its own connection.</summary>
    public void Append(string model, string kind, string summary, IReadOnlyDictionary<string, string>? details = null, string correlationId = "")
    {
        using var connection = database.Open();
        Append(connection, null, model, kind, summary, details, correlationId);
    }

    /// <summary>Appends an entry inside the caller's transaction.</summary>
    public static void Append(SqliteConnection connection, SqliteTransaction? transaction, string model, string kind, string summary,
        IReadOnlyDictionary<string, string>? details = null, string correlationId = "")
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = transaction;
        cmd.CommandText = "INSERT INTO timeline (model, at, kind, summary, details, correlation_id) VALUES ($m, $at, $k, $s, $d, $c)";
        cmd.Parameters.AddWithValue("$m", model);
        cmd.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        cmd.Parameters.AddWithValue("$k", kind);
        cmd.Parameters.AddWithValue("$s", summary);
        cmd.Parameters.AddWithValue("$d", JsonSerializer.Serialize(details ?? new Dictionary<string, string>()));
        cmd.Parameters.AddWithValue("$c", correlationId);
        cmd.ExecuteNonQuery();
    }

    /// <summary>A model's entries at or after <paramref name="since"/>, oldest first.</summary>
    public List<TimelineEntry> Read(string model, DateTimeOffset? since = null)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT at, kind, summary, details, correlation_id FROM timeline WHERE model = $m ORDER BY id";
        cmd.Parameters.AddWithValue("$m", model);
        using var reader = cmd.ExecuteReader();
        var entries = new List<TimelineEntry>();
        while (reader.Read())
        {
            var at = DateTimeOffset.Parse(reader.GetString(0), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
            if (since is { } from && at < from)
            {
                continue;
            }
            var entry = new TimelineEntry
            {
                At = Timestamp.FromDateTimeOffset(at),
                Kind = reader.GetString(1),
                Summary = reader.GetString(2),
                CorrelationId = reader.GetString(4),
            };
            foreach (var (key, value) in JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(3)) ?? [])
            {
                entry.Details[key] = value;
            }
            entries.Add(entry);
        }
        return entries;
    }
}
