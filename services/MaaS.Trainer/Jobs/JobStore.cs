using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using MaaS.Contracts;
using MaaS.Trainer.Storage;
using MaaS.Trainer.V1;
using Microsoft.Data.Sqlite;

namespace MaaS.Trainer.Jobs;

/// <summary>One page of <see cref="JobStore.List"/>.</summary>
/// <param name="Jobs">The jobs, newest first.</param>
/// <param name="NextPageToken">Token of the next page; empty on the last.</param>
public sealed record JobPage(IReadOnlyList<Job> Jobs, string NextPageToken);

/// <summary>
/// The jobs, kept in trainer.db so they survive a restart. Every change is one transaction that also
/// carries the events it causes; after the commit each watcher of the job gets the new snapshot, in order,
/// until the job ends. One write gate serialises changes, so snapshots never interleave.
/// </summary>
public sealed class JobStore(TrainerDatabase database, JobEvents events)
{
    private const string Columns = "seq, id, state, spec, message, registered_version, metrics, epochs_done, correlation_id, created_at, started_at, finished_at, replica_id, progress";
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private readonly Lock gate = new();
    private readonly Dictionary<string, List<Channel<Job>>> watchers = new(StringComparer.Ordinal);

    /// <summary>Adds a new job with its events; false when the id is taken (a redelivered command).</summary>
    public bool TryAdd(Job job, params MeshMessage[] jobEvents)
    {
        lock (gate)
        {
            using var connection = database.Open();
            using var tx = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = "INSERT OR IGNORE INTO jobs (id, model, state, spec, message, registered_version, metrics, epochs_done, correlation_id, created_at, started_at, finished_at, replica_id, progress) "
                + "VALUES ($id, $model, $state, $spec, $message, $version, $metrics, $epochs, $correlation, $created, $started, $finished, $replica, $progress)";
            Bind(insert, job);
            if (insert.ExecuteNonQuery() == 0) return false;
            var after = events.Write(connection, tx, jobEvents);
            tx.Commit();
            after();
            Telemetry.TrainerMetrics.Changed(null, job);
            return true;
        }
    }

    /// <summary>The job as it is now, or null.</summary>
    public Job? Get(string jobId)
    {
        using var connection = database.Open();
        return Read(connection, null, jobId);
    }

    /// <summary>Every progress report of the job, oldest first.</summary>
    public IReadOnlyList<JobProgress> History(string jobId)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT epoch, train_loss, validation_loss, metrics, elapsed_ms, eta_ms FROM job_progress WHERE job_id = $id ORDER BY epoch";
        cmd.Parameters.AddWithValue("$id", jobId);
        using var reader = cmd.ExecuteReader();
        var history = new List<JobProgress>();
        while (reader.Read())
        {
            var p = new JobProgress
            {
                Epoch = reader.GetInt32(0),
                TrainLoss = reader.GetDouble(1),
                Elapsed = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(reader.GetInt64(4))),
                Eta = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(reader.GetInt64(5))),
            };
            if (!reader.IsDBNull(2)) p.ValidationLoss = reader.GetDouble(2);
            p.Metrics.Add(JsonSerializer.Deserialize<Dictionary<string, double>>(reader.GetString(3), MetricsJson)!);
            history.Add(p);
        }
        return history;
    }

    /// <summary>
    /// Applies a change to the job when it has not ended and <paramref name="when"/> (if given) holds, with the
    /// events it causes, in one transaction. Returns the new snapshot, or null when nothing changed.
    /// </summary>
    public Job? Update(string jobId, Action<Job> change, Func<Job, bool>? when = null, Func<Job, IEnumerable<MeshMessage>>? jobEvents = null)
    {
        lock (gate)
        {
            using var connection = database.Open();
            using var tx = connection.BeginTransaction();
            var job = Read(connection, tx, jobId);
            if (job is null || JobStates.IsTerminal(job.State) || (when is not null && !when(job))) return null;
            var before = job.Progress?.Epoch ?? 0;
            var was = job.State;
            change(job);
            using (var update = connection.CreateCommand())
            {
                update.Transaction = tx;
                update.CommandText = "UPDATE jobs SET state = $state, spec = $spec, message = $message, registered_version = $version, metrics = $metrics, "
                    + "epochs_done = $epochs, started_at = $started, finished_at = $finished, replica_id = $replica, progress = $progress WHERE id = $id";
                Bind(update, job);
                update.ExecuteNonQuery();
            }
            if (job.Progress is { } p && p.Epoch != before) InsertHistory(connection, tx, jobId, [p]);
            var after = events.Write(connection, tx, jobEvents?.Invoke(job).ToList() ?? []);
            tx.Commit();
            after();
            Telemetry.TrainerMetrics.Changed(was, job);
            Notify(job);
            return job.Clone();
        }
    }

    /// <summary>
    /// Records a batch of progress reports of a running job in one transaction: every report goes to the history,
    /// the last one becomes the job's progress and message, watchers get that one snapshot, and a
    /// TrainingProgressed event for it is written when <paramref name="publish"/>. Returns false when the job
    /// has ended (or is unknown) and nothing was written.
    /// </summary>
    public bool RecordProgress(string jobId, IReadOnlyList<ProgressReport> reports, bool publish)
    {
        if (reports.Count == 0) return true;
        lock (gate)
        {
            using var connection = database.Open();
            using var tx = connection.BeginTransaction();
            var job = Read(connection, tx, jobId);
            if (job is null || JobStates.IsTerminal(job.State)) return false;
            var last = reports[^1];
            job.EpochsDone = last.Progress.Epoch;
            job.Progress = last.Progress;
            job.Message = last.Message;
            using (var update = connection.CreateCommand())
            {
                // Only the columns progress changes: re-writing the spec each time would cost a JSON round trip per batch.
                update.Transaction = tx;
                update.CommandText = "UPDATE jobs SET message = $message, epochs_done = $epochs, progress = $progress WHERE id = $id";
                update.Parameters.AddWithValue("$id", jobId);
                update.Parameters.AddWithValue("$message", job.Message);
                update.Parameters.AddWithValue("$epochs", job.EpochsDone);
                update.Parameters.AddWithValue("$progress", JsonFormatter.Default.Format(job.Progress));
                update.ExecuteNonQuery();
            }
            InsertHistory(connection, tx, jobId, reports.Select(r => r.Progress));
            var after = events.Write(connection, tx, publish ? [JobEvents.Progressed(job)] : []);
            tx.Commit();
            after();
            Notify(job);
            return true;
        }
    }

    /// <summary>
    /// Jobs newest first (created_at, then job id, both descending), of one model and/or state when given; after
    /// <paramref name="after"/> when given. The next page token is the cursor of the last job when more follow.
    /// </summary>
    public JobPage List(string model, JobState state, int pageSize, JobCursor? after)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM jobs WHERE ($model = '' OR model = $model) AND ($state = 0 OR state = $state) "
            + "AND ($after = 0 OR created_at < $created OR (created_at = $created AND id < $id)) ORDER BY created_at DESC, id DESC LIMIT $limit";
        cmd.Parameters.AddWithValue("$model", model);
        cmd.Parameters.AddWithValue("$state", (int)state);
        cmd.Parameters.AddWithValue("$after", after is null ? 0 : 1);
        cmd.Parameters.AddWithValue("$created", after?.CreatedText ?? "");
        cmd.Parameters.AddWithValue("$id", after?.JobId ?? "");
        cmd.Parameters.AddWithValue("$limit", pageSize + 1);
        var jobs = new List<Job>();
        using (var reader = cmd.ExecuteReader())
        {
            while (reader.Read()) jobs.Add(FromRow(reader).Job);
        }
        var more = jobs.Count > pageSize;
        if (more) jobs.RemoveAt(jobs.Count - 1);
        return new JobPage(jobs, more ? JobCursor.Of(jobs[^1]).ToToken() : "");
    }

    /// <summary>Ids of this replica's jobs in a state, oldest first (restart recovery).</summary>
    public IReadOnlyList<string> Ids(JobState state, string replicaId)
    {
        using var connection = database.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id FROM jobs WHERE state = $state AND replica_id = $replica ORDER BY seq";
        cmd.Parameters.AddWithValue("$state", (int)state);
        cmd.Parameters.AddWithValue("$replica", replicaId);
        using var reader = cmd.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read()) ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>Watches a job: the current snapshot first, then each change; the reader ends with the job.</summary>
    public JobWatch? Watch(string jobId)
    {
        // Unbounded: a job makes at most a few hundred snapshots (progress is reported about a hundred times).
        var channel = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
        lock (gate)
        {
            var current = Get(jobId);
            if (current is null) return null;
            channel.Writer.TryWrite(current);
            if (JobStates.IsTerminal(current.State)) channel.Writer.TryComplete();
            else
            {
                if (!watchers.TryGetValue(jobId, out var list)) watchers[jobId] = list = [];
                list.Add(channel);
            }
        }
        return new JobWatch(channel.Reader, () =>
        {
            lock (gate)
            {
                if (watchers.TryGetValue(jobId, out var list) && list.Remove(channel) && list.Count == 0) watchers.Remove(jobId);
            }
        });
    }

    private static void InsertHistory(SqliteConnection connection, SqliteTransaction tx, string jobId, IEnumerable<JobProgress> reports)
    {
        using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT OR REPLACE INTO job_progress (job_id, epoch, train_loss, validation_loss, metrics, elapsed_ms, eta_ms) "
            + "VALUES ($id, $epoch, $train, $val, $metrics, $elapsed, $eta)";
        insert.Parameters.AddWithValue("$id", jobId);
        var epoch = insert.Parameters.Add("$epoch", SqliteType.Integer);
        var train = insert.Parameters.Add("$train", SqliteType.Real);
        var val = insert.Parameters.Add("$val", SqliteType.Real);
        var metrics = insert.Parameters.Add("$metrics", SqliteType.Text);
        var elapsed = insert.Parameters.Add("$elapsed", SqliteType.Integer);
        var eta = insert.Parameters.Add("$eta", SqliteType.Integer);
        foreach (var p in reports)
        {
            epoch.Value = p.Epoch;
            train.Value = Finite(p.TrainLoss);
            val.Value = p.HasValidationLoss ? Finite(p.ValidationLoss) : DBNull.Value;
            metrics.Value = JsonSerializer.Serialize(p.Metrics.ToDictionary(), MetricsJson);
            elapsed.Value = (long)(p.Elapsed?.ToTimeSpan().TotalMilliseconds ?? 0);
            eta.Value = (long)(p.Eta?.ToTimeSpan().TotalMilliseconds ?? 0);
            insert.ExecuteNonQuery();
        }
    }

    // Called under the gate after a commit.
    private void Notify(Job job)
    {
        if (!watchers.TryGetValue(job.JobId, out var list)) return;
        var ended = JobStates.IsTerminal(job.State);
        foreach (var watcher in list)
        {
            watcher.Writer.TryWrite(job.Clone());
            if (ended) watcher.Writer.TryComplete();
        }
        if (ended) watchers.Remove(job.JobId);
    }

    private static Job? Read(SqliteConnection connection, SqliteTransaction? tx, string jobId)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"SELECT {Columns} FROM jobs WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", jobId);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? FromRow(reader).Job : null;
    }

    private static (long Seq, Job Job) FromRow(SqliteDataReader r)
    {
        var job = new Job
        {
            JobId = r.GetString(1),
            State = (JobState)r.GetInt32(2),
            Spec = Parser.Parse<TrainingSpec>(r.GetString(3)),
            Message = r.GetString(4),
            RegisteredVersion = r.GetInt64(5),
            EpochsDone = r.GetInt32(7),
            CorrelationId = r.GetString(8),
            CreatedAt = Time(r.GetString(9)),
            StartedAt = r.IsDBNull(10) ? null : Time(r.GetString(10)),
            FinishedAt = r.IsDBNull(11) ? null : Time(r.GetString(11)),
            ReplicaId = r.GetString(12),
            Progress = r.IsDBNull(13) ? null : Parser.Parse<JobProgress>(r.GetString(13)),
        };
        job.Metrics.Add(JsonSerializer.Deserialize<Dictionary<string, double>>(r.GetString(6), MetricsJson)!);
        return (r.GetInt64(0), job);
    }

    private static void Bind(SqliteCommand cmd, Job job)
    {
        cmd.Parameters.AddWithValue("$id", job.JobId);
        cmd.Parameters.AddWithValue("$model", job.Spec?.ModelName ?? "");
        cmd.Parameters.AddWithValue("$state", (int)job.State);
        cmd.Parameters.AddWithValue("$spec", JsonFormatter.Default.Format(job.Spec ?? new TrainingSpec()));
        cmd.Parameters.AddWithValue("$message", job.Message);
        cmd.Parameters.AddWithValue("$version", job.RegisteredVersion);
        // Metrics may hold NaN (an undefined R²); JSON numbers cannot, so they are written as named literals.
        cmd.Parameters.AddWithValue("$metrics", JsonSerializer.Serialize(job.Metrics.ToDictionary(), MetricsJson));
        cmd.Parameters.AddWithValue("$epochs", job.EpochsDone);
        cmd.Parameters.AddWithValue("$correlation", job.CorrelationId);
        cmd.Parameters.AddWithValue("$created", Text(job.CreatedAt)!);
        cmd.Parameters.AddWithValue("$started", (object?)Text(job.StartedAt) ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$finished", (object?)Text(job.FinishedAt) ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$replica", job.ReplicaId);
        cmd.Parameters.AddWithValue("$progress", job.Progress is null ? DBNull.Value : JsonFormatter.Default.Format(job.Progress));
    }

    private static readonly JsonSerializerOptions MetricsJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    // SQLite stores NaN as NULL; a diverged loss is kept as the largest double instead of failing the write.
    private static double Finite(double value) => double.IsFinite(value) ? value : double.MaxValue;

    private static string? Text(Timestamp? t) => t?.ToDateTimeOffset().ToString("O", CultureInfo.InvariantCulture);

    private static Timestamp Time(string text) => Timestamp.FromDateTimeOffset(DateTimeOffset.Parse(text, CultureInfo.InvariantCulture));
}

/// <summary>One progress report of a running job: the progress record and the job message that goes with it.</summary>
/// <param name="Progress">Epoch, losses, elapsed, ETA.</param>
/// <param name="Message">The job's message after this report.</param>
public sealed record ProgressReport(JobProgress Progress, string Message);

/// <summary>A subscription to one job's snapshots; dispose it when the watcher leaves.</summary>
public sealed class JobWatch(ChannelReader<Job> reader, Action leave) : IDisposable
{
    /// <summary>Snapshots, current first; completes when the job ends.</summary>
    public ChannelReader<Job> Reader { get; } = reader;

    /// <inheritdoc />
    public void Dispose() => leave();
}
