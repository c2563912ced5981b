using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using MaaS.Contracts;
using MaaS.ServiceDefaults.Outbox;
using MaaS.Updater.V1;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Storage;

/// <summary>A retraining in flight or done, as stored.</summary>
public sealed record RetrainRecord(string JobId, string Model, long ChampionVersion, string State, IReadOnlyList<string> Columns,
    IReadOnlyList<double[]> Holdout, string Rule = "rows", string CorrelationId = "", long ChallengerVersion = 0);

/// <summary>The states of a retraining.</summary>
public static class RetrainStates
{
    /// <summary>Rows set aside; the training dataset is being stored.</summary>
    public const string Preparing = "Preparing";
    /// <summary>TrainModel sent; waiting for ModelTrained.</summary>
    public const string Training = "Training";
    /// <summary>The challenger passed the gate; production moves (or its rollout starts) next.</summary>
    public const string Handoff = "Handoff";
    /// <summary>The gate decided and what followed is done.</summary>
    public const string Decided = "Decided";
    /// <summary>Training failed; its rows count again.</summary>
    public const string Failed = "Failed";

    /// <summary>States of a retraining in flight (the debounce: one per model).</summary>
    public static readonly string[] InFlight = [Preparing, Training, Handoff];
}

/// <summary>What the timeline entry of an ingested batch says.</summary>
public sealed record BatchNote(string Summary, IReadOnlyDictionary<string, string> Details, string CorrelationId);

/// <summary>Per-model state of the automatic triggers, kept across restarts.</summary>
/// <param name="ScheduleAnchor">When the schedule counts from (the last retraining, or when the schedule was first seen).</param>
/// <param name="DriftState">Last drift outcome: "" (never checked), insufficient, ok or drifted.</param>
/// <param name="DriftCheckedAt">When drift was last checked.</param>
/// <param name="DriftFiredChampion">Champion version a drift retraining was last triggered for.</param>
/// <param name="FeedbackCheckedId">Newest feedback row id scored so far.</param>
/// <param name="FeedbackFiredChampion">Champion version a feedback retraining was last triggered for.</param>
public sealed record TriggerState(DateTimeOffset? ScheduleAnchor, string DriftState, DateTimeOffset? DriftCheckedAt, long DriftFiredChampion,
    long FeedbackCheckedId, long FeedbackFiredChampion);

/// <summary>
/// Every read and write of the updater's state. Each change that others must hear about writes its
/// event to the outbox, and its timeline entry, in the same transaction.
/// </summary>
public sealed class UpdaterStore(UpdaterDatabase database, OutboxSignal outbox, IOptions<UpdaterOptions> options, TimeProvider? time = null)
{
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    private static readonly JsonParser PolicyParser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    /// <summary>The model's policy, or the defaults.</summary>
    public Policy GetPolicy(string model)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT policy_json, retrain_after_rows, holdout_fraction, min_improvement FROM policies WHERE model = $m";
        cmd.Parameters.AddWithValue("$m", model);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? ReadPolicy(model, reader) : Defaults(model);
    }

    /// <summary>The policy used when none is stored: a row threshold and the configured margins, no other rule.</summary>
    public Policy Defaults(string model)
    {
        var o = options.Value;
        return new Policy { ModelName = model, RetrainAfterRows = o.DefaultRetrainAfterRows, HoldoutFraction = o.DefaultHoldoutFraction, MinImprovement = o.DefaultMinImprovement };
    }

    /// <summary>Every stored policy, by model name.</summary>
    public List<Policy> ListPolicies()
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT policy_json, retrain_after_rows, holdout_fraction, min_improvement, model FROM policies ORDER BY model";
        using var reader = cmd.ExecuteReader();
        var policies = new List<Policy>();
        while (reader.Read()) policies.Add(ReadPolicy(reader.GetString(4), reader));
        return policies;
    }

    /// <summary>Stores a model's policy (as protobuf JSON; the legacy columns keep the row rule's numbers).</summary>
    public void SetPolicy(Policy policy)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            INSERT INTO policies (model, retrain_after_rows, holdout_fraction, min_improvement, updated_at, policy_json)
            VALUES ($m, $n, $h, $i, $at, $j)
            ON CONFLICT (model) DO UPDATE SET retrain_after_rows = $n, holdout_fraction = $h, min_improvement = $i, updated_at = $at, policy_json = $j
            """;
        cmd.Parameters.AddWithValue("$m", policy.ModelName);
        cmd.Parameters.AddWithValue("$n", policy.RetrainAfterRows);
        cmd.Parameters.AddWithValue("$h", policy.HoldoutFraction);
        cmd.Parameters.AddWithValue("$i", policy.MinImprovement);
        cmd.Parameters.AddWithValue("$at", Now());
        cmd.Parameters.AddWithValue("$j", JsonFormatter.Default.Format(policy));
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

    /// <summary>
    /// Stores a batch: kept labelled rows with the dataset version they went into (and as feedback when
    /// <paramref name="feedback"/>), its event and its timeline entry; returns the rows waiting for training.
    /// </summary>
    public long RecordBatch(string model, IReadOnlyList<(string Key, double[] Values)> rows, long datasetVersion, DataIngested? ingested,
        BatchNote? note = null, bool feedback = false)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        var at = Now();
        foreach (var (key, values) in rows)
        {
            var json = JsonSerializer.Serialize(values);
            Execute(connection, tx, "INSERT INTO ingested_rows (model, row_key, row_values, dataset_version) VALUES ($m, $k, $v, $d)",
                ("$m", model), ("$k", key), ("$v", json), ("$d", datasetVersion));
            if (feedback)
            {
                Execute(connection, tx, "INSERT INTO feedback_rows (model, row_values, received_at) VALUES ($m, $v, $at)", ("$m", model), ("$v", json), ("$at", at));
            }
        }
        if (ingested is not null) SqliteOutbox.Enqueue(connection, tx, ingested);
        if (note is not null) Timeline.Append(connection, tx, model, TimelineKinds.DataIngested, note.Summary, note.Details, note.CorrelationId);
        var pending = PendingCount(connection, tx, model);
        tx.Commit();
        if (ingested is not null) outbox.Notify();
        return pending;
    }

    /// <summary>Kept labelled rows waiting for the next retraining.</summary>
    public long PendingRows(string model)
    {
        using var connection = database.Open();
        return PendingCount(connection, null, model);
    }

    /// <summary>The retraining in flight for a model, or null.</summary>
    public string? InFlight(string model)
    {
        using var connection = database.Open();
        return InFlight(connection, null, model);
    }

    /// <summary>
    /// Sets the waiting rows aside for a retraining when there are at least <paramref name="threshold"/> of
    /// them and none runs for the model (the debounce); returns them (possibly none when the threshold is 0),
    /// or null when no retraining should start.
    /// </summary>
    public IReadOnlyList<double[]>? TryReserveRows(string model, long threshold, string jobId, long championVersion, IReadOnlyList<string> columns,
        string rule = "rows", string correlationId = "")
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction(deferred: false);
        if (InFlight(connection, tx, model) is not null) return null;
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
            INSERT INTO retrains (id, model, champion_version, state, columns, holdout, reason, created_at, rule, correlation_id)
            VALUES ($j, $m, $c, $s, $cols, '[]', '', $at, $rule, $corr)
            """, ("$j", jobId), ("$m", model), ("$c", championVersion), ("$s", RetrainStates.Preparing),
            ("$cols", JsonSerializer.Serialize(columns)), ("$at", Now()), ("$rule", rule), ("$corr", correlationId.Length > 0 ? correlationId : jobId));
        tx.Commit();
        return rows;
    }

    /// <summary>
    /// The training data is stored: keep the held-out rows, send the command and the trigger event, record
    /// why in the timeline, and restart the schedule (and remember which champion a drift/feedback rule fired for).
    /// </summary>
    public void MarkLaunched(string jobId, IReadOnlyList<double[]> holdout, TrainModel command, RetrainTriggered triggered)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        Execute(connection, tx, "UPDATE retrains SET state = $s, holdout = $h, reason = $r WHERE id = $j",
            ("$s", RetrainStates.Training), ("$h", JsonSerializer.Serialize(holdout)), ("$r", triggered.Reason), ("$j", jobId));
        SqliteOutbox.Enqueue(connection, tx, command);
        SqliteOutbox.Enqueue(connection, tx, triggered);
        var details = new Dictionary<string, string>(triggered.Details) { ["rule"] = triggered.Rule, ["job_id"] = jobId, ["champion_version"] = Show(triggered.ChampionVersion) };
        Timeline.Append(connection, tx, triggered.ModelName, TimelineKinds.RetrainTriggered,
            $"Retraining triggered by the {triggered.Rule} rule: {triggered.Reason}", details, triggered.CorrelationId);
        EnsureTriggerState(connection, tx, triggered.ModelName);
        Execute(connection, tx, "UPDATE trigger_state SET schedule_anchor = $at WHERE model = $m", ("$at", Now()), ("$m", triggered.ModelName));
        if (triggered.Rule is "drift" or "feedback")
        {
            Execute(connection, tx, $"UPDATE trigger_state SET {triggered.Rule}_fired_champion = $c WHERE model = $m",
                ("$c", triggered.ChampionVersion), ("$m", triggered.ModelName));
        }
        tx.Commit();
        outbox.Notify();
    }

    /// <summary>A retraining failed: record why (timeline "training") and let its rows count toward the next one.</summary>
    public bool FailRetrain(string jobId, string reason)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        var changed = Execute(connection, tx, "UPDATE retrains SET state = $f, reason = $r WHERE id = $j AND state IN ($p, $t)",
            ("$f", RetrainStates.Failed), ("$r", reason), ("$j", jobId), ("$p", RetrainStates.Preparing), ("$t", RetrainStates.Training));
        if (changed > 0)
        {
            Execute(connection, tx, "UPDATE ingested_rows SET retrain_id = NULL WHERE retrain_id = $j", ("$j", jobId));
            var (model, correlation) = ModelAndCorrelation(connection, tx, jobId);
            Timeline.Append(connection, tx, model, TimelineKinds.Training, $"Retraining {jobId} failed: {reason}",
                new Dictionary<string, string> { ["job_id"] = jobId, ["state"] = RetrainStates.Failed, ["reason"] = reason }, correlation);
        }
        tx.Commit();
        return changed > 0;
    }

    /// <summary>Fails retrainings left in Preparing by a restart (their dataset may never have been sent); returns their ids.</summary>
    public List<string> FailStalePreparing()
    {
        var stale = RetrainsIn(RetrainStates.Preparing);
        foreach (var jobId in stale) FailRetrain(jobId, "the updater restarted before the training data was sent");
        return stale;
    }

    /// <summary>Fails retrainings that waited for their ModelTrained longer than <paramref name="timeout"/>; returns their ids.</summary>
    public List<string> FailOverdueTraining(TimeSpan timeout)
    {
        var cutoff = clock.GetUtcNow() - timeout;
        var overdue = new List<string>();
        using (var connection = database.Open())
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT id, created_at FROM retrains WHERE state = $t";
            cmd.Parameters.AddWithValue("$t", RetrainStates.Training);
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                if (ParseTime(reader, 1) < cutoff) overdue.Add(reader.GetString(0));
            }
        }
        foreach (var jobId in overdue)
        {
            FailRetrain(jobId, $"no trained version arrived within {timeout.TotalMinutes:F0} minutes (Updater:RetrainTimeoutMinutes)");
        }
        return overdue;
    }

    /// <summary>Ids of the retrainings in a state, oldest first.</summary>
    public List<string> RetrainsIn(string state)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id FROM retrains WHERE state = $s ORDER BY created_at, rowid";
        cmd.Parameters.AddWithValue("$s", state);
        using var reader = cmd.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read()) ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>One retraining, or null for a job the updater did not start.</summary>
    public RetrainRecord? GetRetrain(string jobId)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT model, champion_version, state, columns, holdout, rule, correlation_id, challenger_version FROM retrains WHERE id = $j";
        cmd.Parameters.AddWithValue("$j", jobId);
        using var reader = cmd.ExecuteReader();
        if (!reader.Read()) return null;
        return new RetrainRecord(jobId, reader.GetString(0), reader.GetInt64(1), reader.GetString(2),
            JsonSerializer.Deserialize<string[]>(reader.GetString(3))!, JsonSerializer.Deserialize<double[][]>(reader.GetString(4))!,
            reader.GetString(5), reader.GetString(6), reader.GetInt64(7));
    }

    /// <summary>The correlation id of the retraining that produced a version, or "".</summary>
    public string CorrelationOfChallenger(string model, long version)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT correlation_id FROM retrains WHERE model = $m AND challenger_version = $v ORDER BY rowid DESC LIMIT 1";
        cmd.Parameters.AddWithValue("$m", model);
        cmd.Parameters.AddWithValue("$v", version);
        return cmd.ExecuteScalar() as string ?? "";
    }

    /// <summary>
    /// Stores the gate's decision, its event and its timeline entry; the retraining moves to Handoff when
    /// the challenger passed (production or a rollout follows), else to Decided. False when already decided.
    /// </summary>
    public bool RecordDecision(Decision decision, string model, EvaluationCompleted completed, IReadOnlyDictionary<string, string>? details = null)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        var next = decision.Promoted ? RetrainStates.Handoff : RetrainStates.Decided;
        var changed = Execute(connection, tx, "UPDATE retrains SET state = $d, challenger_version = $v WHERE id = $j AND state = $t",
            ("$d", next), ("$v", decision.ChallengerVersion), ("$j", decision.JobId), ("$t", RetrainStates.Training));
        if (changed == 0) return false;
        var all = new Dictionary<string, string>(details ?? new Dictionary<string, string>())
        {
            ["job_id"] = decision.JobId,
            ["champion_version"] = Show(decision.ChampionVersion),
            ["challenger_version"] = Show(decision.ChallengerVersion),
            ["metric"] = decision.Metric,
            ["champion_score"] = Show(decision.ChampionScore),
            ["challenger_score"] = Show(decision.ChallengerScore),
            ["promoted"] = decision.Promoted ? "true" : "false",
        };
        Execute(connection, tx, """
            INSERT INTO decisions (model, job_id, champion_version, challenger_version, metric, champion_score, challenger_score, promoted, reason, decided_at, details)
            VALUES ($m, $j, $cv, $xv, $metric, $cs, $xs, $p, $r, $at, $det)
            """, ("$m", model), ("$j", decision.JobId), ("$cv", decision.ChampionVersion), ("$xv", decision.ChallengerVersion),
            ("$metric", decision.Metric), ("$cs", decision.ChampionScore), ("$xs", decision.ChallengerScore),
            ("$p", decision.Promoted ? 1 : 0), ("$r", decision.Reason), ("$at", Now()), ("$det", JsonSerializer.Serialize(all)));
        var verdict = decision.Promoted ? "passed" : "failed";
        Timeline.Append(connection, tx, model, TimelineKinds.Gate,
            $"Version {decision.ChallengerVersion} {verdict} the gate against version {decision.ChampionVersion}: {decision.Reason}", all, completed.CorrelationId);
        SqliteOutbox.Enqueue(connection, tx, completed);
        tx.Commit();
        outbox.Notify();
        return true;
    }

    /// <summary>
    /// The handoff after a passed gate is done (production moved or the rollout started) or failed (the
    /// decision then says the challenger was not promoted, and why). False when not in Handoff.
    /// </summary>
    public bool FinishHandoff(string jobId, bool succeeded, string note)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        var changed = Execute(connection, tx, "UPDATE retrains SET state = $d WHERE id = $j AND state = $h",
            ("$d", RetrainStates.Decided), ("$j", jobId), ("$h", RetrainStates.Handoff));
        if (changed == 0) return false;
        var (model, correlation) = ModelAndCorrelation(connection, tx, jobId);
        if (!succeeded)
        {
            Execute(connection, tx, "UPDATE decisions SET promoted = 0, reason = reason || $n WHERE job_id = $j", ("$n", "; " + note), ("$j", jobId));
            Timeline.Append(connection, tx, model, TimelineKinds.Gate, $"The challenger of {jobId} passed the gate but was not promoted: {note}",
                new Dictionary<string, string> { ["job_id"] = jobId, ["promoted"] = "false", ["reason"] = note }, correlation);
        }
        tx.Commit();
        return true;
    }

    /// <summary>Appends a timeline entry for a bus event once, however often the event is delivered.</summary>
    public bool AppendOnce(Guid eventId, string model, string kind, string summary, IReadOnlyDictionary<string, string> details, string correlationId)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        var added = Execute(connection, tx, "INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES ($e, $at)", ("$e", eventId.ToString("N")), ("$at", Now()));
        if (added == 0) return false;
        Timeline.Append(connection, tx, model, kind, summary, details, correlationId);
        tx.Commit();
        return true;
    }

    /// <summary>Models the trigger loop looks at: those with a stored policy, rows waiting, or a handoff to finish.</summary>
    public List<string> ModelsToWatch()
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT model FROM policies
            UNION SELECT DISTINCT model FROM ingested_rows WHERE retrain_id IS NULL
            ORDER BY 1
            """;
        using var reader = cmd.ExecuteReader();
        var models = new List<string>();
        while (reader.Read()) models.Add(reader.GetString(0));
        return models;
    }

    /// <summary>A model's trigger state (defaults when never written).</summary>
    public TriggerState GetTriggerState(string model)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT schedule_anchor, drift_state, drift_checked_at, drift_fired_champion, feedback_checked_id, feedback_fired_champion
            FROM trigger_state WHERE model = $m
            """;
        cmd.Parameters.AddWithValue("$m", model);
        using var reader = cmd.ExecuteReader();
        if (!reader.Read()) return new TriggerState(null, "", null, 0, 0, 0);
        return new TriggerState(ParseTime(reader, 0), reader.GetString(1), ParseTime(reader, 2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5));
    }

    /// <summary>Sets when the schedule counts from.</summary>
    public void SetScheduleAnchor(string model, DateTimeOffset at)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        EnsureTriggerState(connection, tx, model);
        Execute(connection, tx, "UPDATE trigger_state SET schedule_anchor = $at WHERE model = $m", ("$at", Format(at)), ("$m", model));
        tx.Commit();
    }

    /// <summary>Records a drift check; with <paramref name="entry"/>, a drift_checked timeline entry in the same transaction.</summary>
    public void RecordDriftCheck(string model, string state, DateTimeOffset at, BatchNote? entry)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        EnsureTriggerState(connection, tx, model);
        Execute(connection, tx, "UPDATE trigger_state SET drift_state = $s, drift_checked_at = $at WHERE model = $m", ("$s", state), ("$at", Format(at)), ("$m", model));
        if (entry is not null) Timeline.Append(connection, tx, model, TimelineKinds.DriftChecked, entry.Summary, entry.Details, entry.CorrelationId);
        tx.Commit();
    }

    /// <summary>Records the newest feedback row scored.</summary>
    public void SetFeedbackChecked(string model, long newestId)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction();
        EnsureTriggerState(connection, tx, model);
        Execute(connection, tx, "UPDATE trigger_state SET feedback_checked_id = $i WHERE model = $m", ("$i", newestId), ("$m", model));
        tx.Commit();
    }

    /// <summary>Id of the newest feedback row of a model; 0 = none.</summary>
    public long NewestFeedbackId(string model)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COALESCE(MAX(id), 0) FROM feedback_rows WHERE model = $m";
        cmd.Parameters.AddWithValue("$m", model);
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>The newest <paramref name="count"/> feedback rows (oldest first) and the id of the newest one (0 = none).</summary>
    public (long NewestId, List<double[]> Rows) FeedbackWindow(string model, int count)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id, row_values FROM feedback_rows WHERE model = $m ORDER BY id DESC LIMIT $n";
        cmd.Parameters.AddWithValue("$m", model);
        cmd.Parameters.AddWithValue("$n", count);
        using var reader = cmd.ExecuteReader();
        long newest = 0;
        var rows = new List<double[]>();
        while (reader.Read())
        {
            newest = Math.Max(newest, reader.GetInt64(0));
            rows.Add(JsonSerializer.Deserialize<double[]>(reader.GetString(1))!);
        }
        rows.Reverse();
        return (newest, rows);
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
                status.Retraining = RetrainStates.InFlight.Contains(reader.GetString(1));
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
                DecidedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(
                    DateTimeOffset.Parse(rows.GetString(8), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)),
            });
        }
        return status;
    }

    // Rows written before policies were JSON keep their three numbers; every other field reads as unset.
    private static Policy ReadPolicy(string model, SqliteDataReader reader)
    {
        if (!reader.IsDBNull(0)) return PolicyParser.Parse<Policy>(reader.GetString(0));
        return new Policy { ModelName = model, RetrainAfterRows = reader.GetInt64(1), HoldoutFraction = reader.GetDouble(2), MinImprovement = reader.GetDouble(3) };
    }

    private static string? InFlight(SqliteConnection connection, SqliteTransaction? tx, string model)
    {
        using var active = connection.CreateCommand();
        active.Transaction = tx;
        active.CommandText = "SELECT id FROM retrains WHERE model = $m AND state IN ($p, $t, $h) LIMIT 1";
        active.Parameters.AddWithValue("$m", model);
        active.Parameters.AddWithValue("$p", RetrainStates.Preparing);
        active.Parameters.AddWithValue("$t", RetrainStates.Training);
        active.Parameters.AddWithValue("$h", RetrainStates.Handoff);
        return active.ExecuteScalar() as string;
    }

    private static (string Model, string Correlation) ModelAndCorrelation(SqliteConnection connection, SqliteTransaction tx, string jobId)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT model, correlation_id FROM retrains WHERE id = $j";
        cmd.Parameters.AddWithValue("$j", jobId);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? (reader.GetString(0), reader.GetString(1)) : ("", "");
    }

    private static void EnsureTriggerState(SqliteConnection connection, SqliteTransaction tx, string model) =>
        Execute(connection, tx, "INSERT OR IGNORE INTO trigger_state (model) VALUES ($m)", ("$m", model));

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

    private static DateTimeOffset? ParseTime(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    private static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Format(DateTimeOffset at) => at.ToString("O", CultureInfo.InvariantCulture);

    private string Now() => Format(clock.GetUtcNow());
}
