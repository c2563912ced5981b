using System.Text.Json;
using MaaS.Contracts;
using MaaS.ServiceDefaults.Outbox;
using MaaS.Updater.V1;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Storage;

/// <summary>A retraining in flight or done, as stored.</summary>
public sealed record RetrainRecord(string JobId, string Model, long ChampionVersion, string State, IReadOnlyList<string> Columns, IReadOnlyList<double[]> Holdout);

/// <summary>The states of a retraining.</summary>
public static class RetrainStates
{
    /// <summary>Rows set aside; the training dataset is being stored.</summary>
    public const string Preparing = "Preparing";
    /// <summary>TrainModel sent; waiting for ModelTrained.</summary>
    public const string Training = "Training";
    /// <summary>The gate decided.</summary>
    public const string Decided = "Decided";
    /// <summary>Training failed; its rows count again.</summary>
    public const string Failed = "Failed";
}

/// <summary>
/// Every read and write of the updater's state. Each change that others must hear about writes its
/// event to the outbox in the same transaction.
/// </summary>
public sealed class UpdaterStore(UpdaterDatabase database, OutboxSignal outbox, IOptions<UpdaterOptions> options)
{
    /// <summary>The model's policy, or the defaults.</summary>
    public Policy GetPolicy(string model)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT retrain_after_rows, holdout_fraction, min_improvement FROM policies WHERE model = $m";
        cmd.Parameters.AddWithValue("$m", model);
        using var reader = cmd.ExecuteReader();
        var o = options.Value;
        return reader.Read()
            ? new Policy { ModelName = model, RetrainAfterRows = reader.GetInt64(0), HoldoutFraction = reader.GetDouble(1), MinImprovement = reader.GetDouble(2) }
            : new Policy { ModelName = model, RetrainAfterRows = o.DefaultRetrainAfterRows, HoldoutFraction = o.DefaultHoldoutFraction, MinImprovement = o.DefaultMinImprovement };
    }

    /// <summary>Stores a model's policy.</summary>
    public void SetPolicy(Policy policy)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            INSERT INTO policies (model, retrain_after_rows, holdout_fraction, min_improvement, updated_at)
            VALUES ($m, $n, $h, $i, $at)
            ON CONFLICT (model) DO UPDATE SET retrain_after_rows = $n, holdout_fraction = $h, min_improvement = $i, updated_at = $at
            """;
        cmd.Parameters.AddWithValue("$m", policy.ModelName);
        cmd.Parameters.AddWithValue("$n", policy.RetrainAfterRows);
        cmd.Parameters.AddWithValue("$h", policy.HoldoutFraction);
        cmd.Parameters.AddWithValue("$i", policy.MinImprovement);
        cmd.Parameters.AddWithValue("$at", Now());
        cmd.ExecuteNonQuery();
    }

    /// <summary>The row keys already stored for a model, for duplicate detection.</summary>
    public HashSet<string> StoredRowKeys(string model)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT row_key FROM ingested_rows WHERE model = $m";
        cmd.Parameters.AddWithValue("$m", model);
        using var reader = cmd.ExecuteReader();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read()) keys.Add(reader.GetString(0));
        return keys;
    }

    /// <summary>Stores kept rows with the dataset version they went into; returns the rows waiting for training.</summary>
    public long RecordBatch(string model, IReadOnlyList<(string Key, double[] Values)> rows, long datasetVersion, DataIngested ingested)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        foreach (var (key, values) in rows)
        {
            using var insert = connection.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = "INSERT INTO ingested_rows (model, row_key, row_values, dataset_version) VALUES ($m, $k, $v, $d)";
            insert.Parameters.AddWithValue("$m", model);
            insert.Parameters.AddWithValue("$k", key);
            insert.Parameters.AddWithValue("$v", JsonSerializer.Serialize(values));
            insert.Parameters.AddWithValue("$d", datasetVersion);
            insert.ExecuteNonQuery();
        }
        SqliteOutbox.Enqueue(connection, tx, ingested);
        var pending = PendingCount(connection, tx, model);
        tx.Commit();
        outbox.Notify();
        return pending;
    }

    /// <summary>
    /// Sets the waiting rows aside for a retraining when there are enough of them and none runs for
    /// the model (the debounce); returns them, or null when no retraining should start.
    /// </summary>
    public IReadOnlyList<double[]>? TryReserveRows(string model, long threshold, string jobId, long championVersion, IReadOnlyList<string> columns)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction(deferred: false);
        using (var active = connection.CreateCommand())
        {
            active.Transaction = tx;
            active.CommandText = "SELECT COUNT(*) FROM retrains WHERE model = $m AND state IN ($p, $t)";
            active.Parameters.AddWithValue("$m", model);
            active.Parameters.AddWithValue("$p", RetrainStates.Preparing);
            active.Parameters.AddWithValue("$t", RetrainStates.Training);
            if ((long)active.ExecuteScalar()! > 0) return null;
        }
        if (PendingCount(connection, tx, model) < threshold) return null;

        var rows = new List<double[]>();
        using (var select = connection.CreateCommand())
        {
            select.Transaction = tx;
            select.CommandText = "SELECT row_values FROM ingested_rows WHERE model = $m AND retrain_id IS NULL ORDER BY id";
            select.Parameters.AddWithValue("$m", model);
            using var reader = select.ExecuteReader();
            while (reader.Read()) rows.Add(JsonSerializer.Deserialize<double[]>(reader.GetString(0))!);
        }
        Execute(connection, tx, "UPDATE ingested_rows SET retrain_id = $j WHERE model = $m AND retrain_id IS NULL", ("$j", jobId), ("$m", model));
        Execute(connection, tx, """
            INSERT INTO retrains (id, model, champion_version, state, columns, holdout, reason, created_at)
            VALUES ($j, $m, $c, $s, $cols, '[]', '', $at)
            """, ("$j", jobId), ("$m", model), ("$c", championVersion), ("$s", RetrainStates.Preparing),
            ("$cols", JsonSerializer.Serialize(columns)), ("$at", Now()));
        tx.Commit();
        return rows;
    }

    /// <summary>The training data is stored: keep the held-out rows and send the command and the trigger event.</summary>
    public void MarkLaunched(string jobId, IReadOnlyList<double[]> holdout, TrainModel command, RetrainTriggered triggered)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        Execute(connection, tx, "UPDATE retrains SET state = $s, holdout = $h, reason = $r WHERE id = $j",
            ("$s", RetrainStates.Training), ("$h", JsonSerializer.Serialize(holdout)), ("$r", triggered.Reason), ("$j", jobId));
        SqliteOutbox.Enqueue(connection, tx, command);
        SqliteOutbox.Enqueue(connection, tx, triggered);
        tx.Commit();
        outbox.Notify();
    }

    /// <summary>A retraining failed: record why and let its rows count toward the next one.</summary>
    public bool FailRetrain(string jobId, string reason)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        var changed = Execute(connection, tx, "UPDATE retrains SET state = $f, reason = $r WHERE id = $j AND state IN ($p, $t)",
            ("$f", RetrainStates.Failed), ("$r", reason), ("$j", jobId), ("$p", RetrainStates.Preparing), ("$t", RetrainStates.Training));
        if (changed > 0)
        {
            Execute(connection, tx, "UPDATE ingested_rows SET retrain_id = NULL WHERE retrain_id = $j", ("$j", jobId));
        }
        tx.Commit();
        return changed > 0;
    }

    /// <summary>One retraining, or null for a job the updater did not start.</summary>
    public RetrainRecord? GetRetrain(string jobId)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT model, champion_version, state, columns, holdout FROM retrains WHERE id = $j";
        cmd.Parameters.AddWithValue("$j", jobId);
        using var reader = cmd.ExecuteReader();
        if (!reader.Read()) return null;
        return new RetrainRecord(jobId, reader.GetString(0), reader.GetInt64(1), reader.GetString(2),
            JsonSerializer.Deserialize<string[]>(reader.GetString(3))!, JsonSerializer.Deserialize<double[][]>(reader.GetString(4))!);
    }

    /// <summary>Stores the gate's decision and its event; false when the retraining was already decided.</summary>
    public bool RecordDecision(Decision decision, string model, EvaluationCompleted completed)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        var changed = Execute(connection, tx, "UPDATE retrains SET state = $d WHERE id = $j AND state = $t",
            ("$d", RetrainStates.Decided), ("$j", decision.JobId), ("$t", RetrainStates.Training));
        if (changed == 0) return false;
        Execute(connection, tx, """
            INSERT INTO decisions (model, job_id, champion_version, challenger_version, metric, champion_score, challenger_score, promoted, reason, decided_at)
            VALUES ($m, $j, $cv, $xv, $metric, $cs, $xs, $p, $r, $at)
            """, ("$m", model), ("$j", decision.JobId), ("$cv", decision.ChampionVersion), ("$xv", decision.ChallengerVersion),
            ("$metric", decision.Metric), ("$cs", decision.ChampionScore), ("$xs", decision.ChallengerScore),
            ("$p", decision.Promoted ? 1 : 0), ("$r", decision.Reason), ("$at", Now()));
        SqliteOutbox.Enqueue(connection, tx, completed);
        tx.Commit();
        outbox.Notify();
        return true;
    }

    /// <summary>What the updater knows about a model.</summary>
    public GetUpdateStatusResponse GetStatus(string model)
    {
        using var connection = database.Open();
        var status = new GetUpdateStatusResponse { ModelName = model, RowsSinceTraining = PendingCount(connection, null, model) };
        using (var last = connection.CreateCommand())
        {
            last.CommandText = "SELECT id, state FROM retrains WHERE model = $m ORDER BY created_at DESC, rowid DESC LIMIT 1";
            last.Parameters.AddWithValue("$m", model);
            using var reader = last.ExecuteReader();
            if (reader.Read())
            {
                status.LastJobId = reader.GetString(0);
                status.Retraining = reader.GetString(1) is RetrainStates.Preparing or RetrainStates.Training;
            }
        }
        using var decisions = connection.CreateCommand();
        decisions.CommandText = """
            SELECT job_id, champion_version, challenger_version, metric, champion_score, challenger_score, promoted, reason, decided_at
            FROM decisions WHERE model = $m ORDER BY id
            """;
        decisions.Parameters.AddWithValue("$m", model);
        using var rows = decisions.ExecuteReader();
        while (rows.Read())
        {
            status.Decisions.Add(new Decision
            {
                JobId = rows.GetString(0),
                ChampionVersion = rows.GetInt64(1),
                ChallengerVersion = rows.GetInt64(2),
                Metric = rows.GetString(3),
                ChampionScore = rows.GetDouble(4),
                ChallengerScore = rows.GetDouble(5),
                Promoted = rows.GetInt64(6) != 0,
                Reason = rows.GetString(7),
                DecidedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.Parse(rows.GetString(8), System.Globalization.CultureInfo.InvariantCulture)),
            });
        }
        return status;
    }

    private static long PendingCount(SqliteConnection connection, SqliteTransaction? tx, string model)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT COUNT(*) FROM ingested_rows WHERE model = $m AND retrain_id IS NULL";
        cmd.Parameters.AddWithValue("$m", model);
        return (long)cmd.ExecuteScalar()!;
    }

    private static int Execute(SqliteConnection connection, SqliteTransaction tx, string sql, params (string Name, object Value)[] parameters)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        return cmd.ExecuteNonQuery();
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("O");
}
