using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using MaaS.Contracts;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Outbox;
using MaaS.Updater.Storage;
using MaaS.Updater.V1;
using Microsoft.Data.Sqlite;

namespace MaaS.Updater.Rollout;

/// <summary>A rollout as stored.</summary>
/// <param name="Applied">Whether the registry has the deployment (and alias) of the current state; the driver retries until it does.</param>
public sealed record RolloutRecord(
    string Id, string Model, long ChampionVersion, long ChallengerVersion, RolloutPlan Plan, string State, int Step, int ChallengerPercent,
    DateTimeOffset StepStartedAt, string Reason, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, string CorrelationId, string Pool, bool Applied)
{
    /// <summary>Whether the rollout is still running (shadow or canary).</summary>
    public bool Running => RolloutStates.IsRunning(State);

    /// <summary>The rpc form.</summary>
    public V1.Rollout ToProto()
    {
        var rollout = new V1.Rollout
        {
            Id = Id,
            ModelName = Model,
            ChampionVersion = ChampionVersion,
            ChallengerVersion = ChallengerVersion,
            Plan = Plan.Clone(),
            State = State,
            Step = Step,
            ChallengerPercent = ChallengerPercent,
            StepStartedAt = Timestamp.FromDateTimeOffset(StepStartedAt),
            Reason = Reason,
            StartedAt = Timestamp.FromDateTimeOffset(StartedAt),
        };
        if (EndedAt is { } ended) rollout.EndedAt = Timestamp.FromDateTimeOffset(ended);
        return rollout;
    }
}

/// <summary>A timeline entry to write with a change.</summary>
public sealed record RolloutNote(string Kind, string Summary, IReadOnlyDictionary<string, string> Details);

/// <summary>
/// Rollouts in the updater's SQLite file. Every state change writes its events to the outbox and its
/// timeline entry in the same transaction, so what others hear and what the timeline says never differ
/// from the stored state.
/// </summary>
public sealed class RolloutStore(UpdaterDatabase database, OutboxSignal outbox)
{
    private static readonly JsonParser PlanParser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private const string Columns = """
        id, model, champion_version, challenger_version, plan_json, state, step, challenger_percent, step_started_at, reason,
        started_at, ended_at, correlation_id, pool, applied
        """;

    /// <summary>The model's newest rollout, or null.</summary>
    public RolloutRecord? Current(string model)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM rollouts WHERE model = $m ORDER BY rowid DESC LIMIT 1";
        cmd.Parameters.AddWithValue("$m", model);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    /// <summary>One rollout, or null.</summary>
    public RolloutRecord? Get(string id)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM rollouts WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    /// <summary>Ids of the rollouts the driver must look at: running ones, and ended ones whose deployment the registry does not have yet.</summary>
    public List<string> Unsettled()
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id FROM rollouts WHERE running = 1 OR applied = 0 ORDER BY rowid";
        using var reader = cmd.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read()) ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>Stores a new rollout with its first events and timeline entry; FailedPrecondition when the model already runs one.</summary>
    public void Insert(RolloutRecord rollout, IReadOnlyList<MeshMessage> events, RolloutNote note)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction(deferred: false);
        using (var running = connection.CreateCommand())
        {
            running.Transaction = tx;
            running.CommandText = "SELECT id, state FROM rollouts WHERE model = $m AND running = 1";
            running.Parameters.AddWithValue("$m", rollout.Model);
            using var reader = running.ExecuteReader();
            if (reader.Read())
            {
                throw MeshErrors.FailedPrecondition(
                    $"Model '{rollout.Model}' already has rollout {reader.GetString(0)} running ({reader.GetString(1)}); one rollout per model at a time (AbortRollout stops it).");
            }
        }
        Execute(connection, tx, $"""
            INSERT INTO rollouts ({Columns}, running)
            VALUES ($id, $m, $c, $x, $plan, $s, $step, $p, $ss, $r, $at, NULL, $corr, $pool, 0, 1)
            """, ("$id", rollout.Id), ("$m", rollout.Model), ("$c", rollout.ChampionVersion), ("$x", rollout.ChallengerVersion),
            ("$plan", JsonFormatter.Default.Format(rollout.Plan)), ("$s", rollout.State), ("$step", rollout.Step), ("$p", rollout.ChallengerPercent),
            ("$ss", Format(rollout.StepStartedAt)), ("$r", rollout.Reason), ("$at", Format(rollout.StartedAt)), ("$corr", rollout.CorrelationId),
            ("$pool", rollout.Pool));
        Finish(connection, tx, rollout, events, note);
    }

    /// <summary>
    /// Moves <paramref name="from"/> to <paramref name="to"/> (state, step, share, step start, reason, end) with its
    /// events and timeline entry, unless the stored rollout is no longer in <paramref name="from"/>'s state and step
    /// (then false, nothing written). The registry has yet to follow: applied is cleared.
    /// </summary>
    public bool Transition(RolloutRecord from, RolloutRecord to, IReadOnlyList<MeshMessage> events, RolloutNote note)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction(deferred: false);
        var changed = Execute(connection, tx, """
            UPDATE rollouts SET state = $s, step = $step, challenger_percent = $p, step_started_at = $ss, reason = $r, ended_at = $end,
                running = $running, applied = 0
            WHERE id = $id AND state = $from AND step = $fromStep
            """, ("$s", to.State), ("$step", to.Step), ("$p", to.ChallengerPercent), ("$ss", Format(to.StepStartedAt)), ("$r", to.Reason),
            ("$end", to.EndedAt is { } end ? Format(end) : DBNull.Value), ("$running", to.Running ? 1 : 0),
            ("$id", from.Id), ("$from", from.State), ("$fromStep", from.Step));
        if (changed == 0) return false;
        Finish(connection, tx, to, events, note);
        return true;
    }

    /// <summary>
    /// The registry now has the deployment of the rollout's state and step. The first time a running step is
    /// applied its bake time starts over: traffic only split when the registry took the deployment.
    /// </summary>
    public void MarkApplied(RolloutRecord rollout, DateTimeOffset now)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction(deferred: false);
        Execute(connection, tx, """
            UPDATE rollouts SET applied = 1, step_started_at = CASE WHEN running = 1 THEN $now ELSE step_started_at END
            WHERE id = $id AND state = $s AND step = $step AND applied = 0
            """, ("$now", Format(now)), ("$id", rollout.Id), ("$s", rollout.State), ("$step", rollout.Step));
        tx.Commit();
    }

    /// <summary>
    /// Counts a traffic window toward the running rollout of its model when the version is the rollout's
    /// champion or challenger and the window ended after the current step began (a window from an earlier
    /// split says nothing about this one). An event already counted is ignored. True when counted.
    /// </summary>
    public bool AddTraffic(TrafficObserved observed, DateTimeOffset now)
    {
        using var connection = database.Open();
        using var tx = connection.BeginTransaction(deferred: false);
        string id;
        int step;
        using (var running = connection.CreateCommand())
        {
            running.Transaction = tx;
            running.CommandText = """
                SELECT id, step, step_started_at FROM rollouts
                WHERE model = $m AND running = 1 AND (champion_version = $v OR challenger_version = $v)
                """;
            running.Parameters.AddWithValue("$m", observed.ModelName);
            running.Parameters.AddWithValue("$v", observed.Version);
            using var reader = running.ExecuteReader();
            if (!reader.Read()) return false;
            if (observed.WindowEnd <= Parse(reader.GetString(2))) return false;
            id = reader.GetString(0);
            step = reader.GetInt32(1);
        }
        var fresh = Execute(connection, tx, "INSERT OR IGNORE INTO rollout_traffic_events (event_id, seen_at) VALUES ($e, $at)",
            ("$e", observed.EventId.ToString("N")), ("$at", Format(now)));
        if (fresh == 0) return false;

        var tally = Tally(connection, tx, id, step, observed.Version) ?? new TrafficTally();
        tally.Add(observed.Requests, observed.Errors, observed.LatencyBuckets, observed.ShadowRequests, observed.ShadowErrors);
        Execute(connection, tx, """
            INSERT INTO rollout_traffic (rollout_id, step, version, requests, errors, buckets, shadow_requests, shadow_errors)
            VALUES ($id, $step, $v, $n, $e, $b, $sn, $se)
            ON CONFLICT (rollout_id, step, version) DO UPDATE SET requests = $n, errors = $e, buckets = $b, shadow_requests = $sn, shadow_errors = $se
            """, ("$id", id), ("$step", step), ("$v", observed.Version), ("$n", tally.Requests), ("$e", tally.Errors),
            ("$b", JsonSerializer.Serialize(tally.Buckets)), ("$sn", tally.ShadowRequests), ("$se", tally.ShadowErrors));
        tx.Commit();
        return true;
    }

    /// <summary>A version's traffic in one step of a rollout (zero when none was observed).</summary>
    public TrafficTally StepTally(string id, int step, long version)
    {
        using var connection = database.Open();
        return Tally(connection, null, id, step, version) ?? new TrafficTally();
    }

    /// <summary>A version's traffic over every step of a rollout.</summary>
    public TrafficTally RolloutTally(string id, long version)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT requests, errors, buckets, shadow_requests, shadow_errors FROM rollout_traffic WHERE rollout_id = $id AND version = $v";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$v", version);
        using var reader = cmd.ExecuteReader();
        var total = new TrafficTally();
        while (reader.Read()) total.Add(ReadTally(reader));
        return total;
    }

    /// <summary>Forgets the ids of traffic events counted before <paramref name="before"/> (redeliveries come within minutes).</summary>
    public void PruneSeen(DateTimeOffset before)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "DELETE FROM rollout_traffic_events WHERE seen_at < $before";
        cmd.Parameters.AddWithValue("$before", Format(before));
        cmd.ExecuteNonQuery();
    }

    private void Finish(SqliteConnection connection, SqliteTransaction tx, RolloutRecord rollout, IReadOnlyList<MeshMessage> events, RolloutNote note)
    {
        foreach (var message in events) SqliteOutbox.Enqueue(connection, tx, message);
        Timeline.Append(connection, tx, rollout.Model, note.Kind, note.Summary, note.Details, rollout.CorrelationId);
        tx.Commit();
        outbox.Notify();
    }

    private static TrafficTally? Tally(SqliteConnection connection, SqliteTransaction? tx, string id, int step, long version)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            SELECT requests, errors, buckets, shadow_requests, shadow_errors FROM rollout_traffic
            WHERE rollout_id = $id AND step = $step AND version = $v
            """;
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$step", step);
        cmd.Parameters.AddWithValue("$v", version);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? ReadTally(reader) : null;
    }

    private static TrafficTally ReadTally(SqliteDataReader reader) =>
        TrafficTally.Of(reader.GetInt64(0), reader.GetInt64(1), JsonSerializer.Deserialize<long[]>(reader.GetString(2)), reader.GetInt64(3), reader.GetInt64(4));

    private static RolloutRecord Read(SqliteDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), PlanParser.Parse<RolloutPlan>(reader.GetString(4)),
        reader.GetString(5), reader.GetInt32(6), reader.GetInt32(7), Parse(reader.GetString(8)), reader.GetString(9), Parse(reader.GetString(10)),
        reader.IsDBNull(11) ? null : Parse(reader.GetString(11)), reader.GetString(12), reader.GetString(13), reader.GetInt64(14) != 0);

    private static int Execute(SqliteConnection connection, SqliteTransaction tx, string sql, params (string Name, object Value)[] parameters)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        return cmd.ExecuteNonQuery();
    }

    private static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    private static string Format(DateTimeOffset at) => at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);
}
