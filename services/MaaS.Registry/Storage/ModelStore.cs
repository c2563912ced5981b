using MaaS.Contracts;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Outbox;
using Microsoft.Data.Sqlite;

namespace MaaS.Registry.Storage;

/// <summary>Result of pointing an alias at a version.</summary>
/// <param name="PreviousVersion">Former target; 0 = the alias is new.</param>
/// <param name="Moved">False when the alias already pointed there (nothing recorded, no event).</param>
public sealed record AliasChange(long PreviousVersion, bool Moved);

/// <summary>Models, their versions and aliases. Every change commits with its history and outbox rows.</summary>
public sealed class ModelStore(RegistryDatabase database)
{
    private const string VersionColumns = """
        model, version, artifact_digest, artifact_size, signature_json, metrics_json, hyperparameters_json,
        lineage_dataset_name, lineage_dataset_version, lineage_dataset_digest, lineage_training_job_id,
        lineage_parent_version, status, created_by, created_at
        """;

    private const string StatusReady = "ready";
    private const string StatusArchived = "archived";

    /// <summary>Creates a model; with <paramref name="ifAbsent"/> an existing one is returned instead of AlreadyExists.</summary>
    /// <returns>The model and whether this call created it.</returns>
    public async Task<(Model Model, bool Created)> CreateModelAsync(string name, string description, string task, bool ifAbsent,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var inserted = connection.Execute(
            "INSERT INTO models(name, description, task, created_at) VALUES ($name, $description, $task, $at) ON CONFLICT(name) DO NOTHING;",
            null, ("$name", name), ("$description", description), ("$task", task), ("$at", Sql.Now()));
        if (inserted == 0 && !ifAbsent)
        {
            throw MeshErrors.AlreadyExists($"Model '{name}' already exists; pass if_absent to get the existing model instead.");
        }
        var model = await ReadModelAsync(connection, name, cancellationToken)
            ?? throw new InvalidOperationException($"Model '{name}' vanished right after it was written.");
        return (model, inserted == 1);
    }

    /// <summary>One model with its aliases and latest version, or null.</summary>
    public async Task<Model?> GetModelAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ReadModelAsync(connection, name, cancellationToken);
    }

    /// <summary>Whether a model of this name exists.</summary>
    public async Task<bool> ModelExistsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return ModelExists(connection, null, name);
    }

    /// <summary>All models by name.</summary>
    public async Task<IReadOnlyList<Model>> ListModelsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var models = new List<Model>();
        var byName = new Dictionary<string, Model>(StringComparer.Ordinal);
        await using (var command = connection.Command("""
            SELECT m.name, m.description, m.task, m.created_at,
                   (SELECT COALESCE(MAX(v.version), 0) FROM versions v WHERE v.model = m.name)
            FROM models m ORDER BY m.name;
            """, null))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var model = ToModel(reader);
                models.Add(model);
                byName[model.Name] = model;
            }
        }
        await using (var command = connection.Command("SELECT model, alias, version FROM aliases;", null))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (byName.TryGetValue(reader.GetString(0), out var model))
                {
                    model.Aliases[reader.GetString(1)] = reader.GetInt64(2);
                }
            }
        }
        return models;
    }

    /// <summary>
    /// Stores a version whose artifact is already in the blob store: number = highest + 1, taken in the
    /// same write transaction that inserts the row and its <see cref="ModelVersionRegistered"/> event.
    /// </summary>
    public async Task<ModelVersion> InsertVersionAsync(VersionManifest manifest, StoredBlob artifact, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var model = manifest.ModelName;
        if (!ModelExists(connection, transaction, model))
        {
            throw MeshErrors.NotFound($"Model '{model}' does not exist; create it before registering versions.");
        }
        var lineage = manifest.Lineage ?? new Lineage();
        if (lineage.ParentVersion > 0 && !VersionExists(connection, transaction, model, lineage.ParentVersion))
        {
            throw MeshErrors.NotFound($"lineage.parent_version {lineage.ParentVersion} is not a version of model '{model}'.");
        }
        var number = Convert.ToInt64(connection.Scalar(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE model = $model;", transaction, ("$model", model)));
        var createdAt = Sql.Now();
        var signature = new SignatureJson(
            manifest.Inputs.Select(TensorJson.From).ToList(), manifest.Outputs.Select(TensorJson.From).ToList());
        connection.Execute($"""
            INSERT INTO versions({VersionColumns}) VALUES (
                $model, $version, $digest, $size, $signature, $metrics, $hyperparameters,
                $dsName, $dsVersion, $dsDigest, $jobId, $parent, $status, $createdBy, $createdAt);
            """, transaction,
            ("$model", model), ("$version", number), ("$digest", artifact.Digest), ("$size", artifact.Size),
            ("$signature", Sql.ToJson(signature)),
            ("$metrics", Sql.ToJson(manifest.Metrics.ToDictionary(kv => kv.Key, kv => kv.Value))),
            ("$hyperparameters", Sql.ToJson(manifest.Hyperparameters.ToDictionary(kv => kv.Key, kv => kv.Value))),
            ("$dsName", lineage.DatasetName), ("$dsVersion", lineage.DatasetVersion), ("$dsDigest", lineage.DatasetDigest),
            ("$jobId", lineage.TrainingJobId), ("$parent", lineage.ParentVersion),
            ("$status", StatusReady), ("$createdBy", manifest.CreatedBy), ("$createdAt", createdAt));
        SqliteOutbox.Enqueue(connection, transaction, new ModelVersionRegistered
        {
            ModelName = model,
            Version = number,
            ArtifactDigest = artifact.Digest,
            ArtifactSize = artifact.Size,
            TrainingJobId = lineage.TrainingJobId,
            // The job id ties data → job → version → deployment together; a hand-registered version starts no chain.
            CorrelationId = lineage.TrainingJobId,
        });
        var stored = ReadVersion(connection, transaction, model, number)
            ?? throw new InvalidOperationException($"Version {number} of '{model}' vanished inside its own transaction.");
        transaction.Commit();
        return stored;
    }

    /// <summary>One version, or null.</summary>
    public async Task<ModelVersion?> GetVersionAsync(string model, long version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return ReadVersion(connection, null, model, version);
    }

    /// <summary>The version an alias points at, or null when the model has no such alias.</summary>
    public async Task<long?> ResolveAliasAsync(string model, string alias, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var value = connection.Scalar("SELECT version FROM aliases WHERE model = $model AND alias = $alias;", null,
            ("$model", model), ("$alias", alias));
        return value is null ? null : Convert.ToInt64(value);
    }

    /// <summary>All versions of a model, oldest first.</summary>
    public async Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"SELECT {VersionColumns} FROM versions WHERE model = $model ORDER BY version;", null, ("$model", model));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var versions = new List<ModelVersion>();
        while (await reader.ReadAsync(cancellationToken))
        {
            versions.Add(ToVersion(reader));
        }
        return versions;
    }

    /// <summary>
    /// Points an alias at a version, recording the move (from, to, actor, reason, time) and an
    /// <see cref="AliasMoved"/> event in one transaction. Pointing it where it already points changes nothing.
    /// </summary>
    public async Task<AliasChange> SetAliasAsync(string model, string alias, long version, string actor, string reason,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        if (!ModelExists(connection, transaction, model))
        {
            throw MeshErrors.NotFound($"Model '{model}' does not exist.");
        }
        var target = ReadVersion(connection, transaction, model, version)
            ?? throw MeshErrors.NotFound($"Model '{model}' has no version {version}; an alias can only point at a registered version.");
        var current = connection.Scalar("SELECT version FROM aliases WHERE model = $model AND alias = $alias;", transaction,
            ("$model", model), ("$alias", alias)) is { } value ? Convert.ToInt64(value) : 0L;
        if (current == version)
        {
            return new AliasChange(current, Moved: false);
        }
        var at = Sql.Now();
        connection.Execute("""
            INSERT INTO aliases(model, alias, version, updated_at) VALUES ($model, $alias, $version, $at)
            ON CONFLICT(model, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at;
            """, transaction, ("$model", model), ("$alias", alias), ("$version", version), ("$at", at));
        connection.Execute("""
            INSERT INTO alias_history(model, alias, from_version, to_version, actor, reason, at)
            VALUES ($model, $alias, $from, $to, $actor, $reason, $at);
            """, transaction, ("$model", model), ("$alias", alias), ("$from", current), ("$to", version),
            ("$actor", actor), ("$reason", reason), ("$at", at));
        SqliteOutbox.Enqueue(connection, transaction, new AliasMoved
        {
            ModelName = model,
            Alias = alias,
            FromVersion = current,
            ToVersion = version,
            Actor = actor,
            Reason = reason,
            // A move continues the chain of the version it now serves.
            CorrelationId = target.Lineage?.TrainingJobId ?? "",
        });
        transaction.Commit();
        return new AliasChange(current, Moved: true);
    }

    private static bool ModelExists(SqliteConnection connection, SqliteTransaction? transaction, string name) =>
        connection.Scalar("SELECT 1 FROM models WHERE name = $name;", transaction, ("$name", name)) is not null;

    private static bool VersionExists(SqliteConnection connection, SqliteTransaction? transaction, string model, long version) =>
        connection.Scalar("SELECT 1 FROM versions WHERE model = $model AND version = $version;", transaction,
            ("$model", model), ("$version", version)) is not null;

    private static async Task<Model?> ReadModelAsync(SqliteConnection connection, string name, CancellationToken cancellationToken)
    {
        Model model;
        await using (var command = connection.Command("""
            SELECT name, description, task, created_at,
                   (SELECT COALESCE(MAX(version), 0) FROM versions WHERE model = $name)
            FROM models WHERE name = $name;
            """, null, ("$name", name)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken)) return null;
            model = ToModel(reader);
        }
        await using (var command = connection.Command("SELECT alias, version FROM aliases WHERE model = $name;", null, ("$name", name)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                model.Aliases[reader.GetString(0)] = reader.GetInt64(1);
            }
        }
        return model;
    }

    private static ModelVersion? ReadVersion(SqliteConnection connection, SqliteTransaction? transaction, string model, long version)
    {
        using var command = connection.Command(
            $"SELECT {VersionColumns} FROM versions WHERE model = $model AND version = $version;", transaction,
            ("$model", model), ("$version", version));
        using var reader = command.ExecuteReader();
        return reader.Read() ? ToVersion(reader) : null;
    }

    private static Model ToModel(SqliteDataReader reader) => new()
    {
        Name = reader.GetString(0),
        Description = reader.GetString(1),
        Task = reader.GetString(2),
        CreatedAt = Sql.ToTimestamp(reader.GetString(3)),
        LatestVersion = reader.GetInt64(4),
    };

    private static ModelVersion ToVersion(SqliteDataReader reader)
    {
        var signature = Sql.FromJson<SignatureJson>(reader.GetString(4));
        var version = new ModelVersion
        {
            ModelName = reader.GetString(0),
            Version = reader.GetInt64(1),
            ArtifactDigest = reader.GetString(2),
            ArtifactSize = reader.GetInt64(3),
            Lineage = new Lineage
            {
                DatasetName = reader.GetString(7),
                DatasetVersion = reader.GetInt64(8),
                DatasetDigest = reader.GetString(9),
                TrainingJobId = reader.GetString(10),
                ParentVersion = reader.GetInt64(11),
            },
            Status = reader.GetString(12) switch
            {
                StatusReady => VersionStatus.Ready,
                StatusArchived => VersionStatus.Archived,
                _ => VersionStatus.Unspecified,
            },
            CreatedBy = reader.GetString(13),
            CreatedAt = Sql.ToTimestamp(reader.GetString(14)),
        };
        version.Inputs.AddRange(signature.Inputs.Select(t => t.ToProto()));
        version.Outputs.AddRange(signature.Outputs.Select(t => t.ToProto()));
        version.Metrics.Add(Sql.FromJson<Dictionary<string, double>>(reader.GetString(5)));
        version.Hyperparameters.Add(Sql.FromJson<Dictionary<string, string>>(reader.GetString(6)));
        return version;
    }

    /// <summary>The signature column: inputs and outputs as stored.</summary>
    private sealed record SignatureJson(List<TensorJson> Inputs, List<TensorJson> Outputs);

    /// <summary>One tensor of the signature column.</summary>
    private sealed record TensorJson(string Name, string Datatype, long[] Shape)
    {
        public static TensorJson From(TensorSpec spec) => new(spec.Name, spec.Datatype, spec.Shape.ToArray());

        public TensorSpec ToProto()
        {
            var spec = new TensorSpec { Name = Name, Datatype = Datatype };
            spec.Shape.AddRange(Shape);
            return spec;
        }
    }
}
