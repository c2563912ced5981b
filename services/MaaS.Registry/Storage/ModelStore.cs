using System.Data.Common;
using MaaS.Contracts;
using MaaS.Registry.Storage.Data;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;

namespace MaaS.Registry.Storage;

/// <summary>Result of pointing an alias at a version.</summary>
/// <param name="PreviousVersion">Former target; 0 = the alias is new.</param>
/// <param name="Version">Target now.</param>
/// <param name="Moved">False when the alias already pointed there (nothing recorded, no event).</param>
public sealed record AliasChange(long PreviousVersion, long Version, bool Moved);

/// <summary>Filters and position of a model listing; empty strings mean "any".</summary>
/// <param name="After">Last name of the previous page; empty = from the start.</param>
/// <param name="Prefix">Names starting with this.</param>
/// <param name="Task">Exact task.</param>
/// <param name="Tag">Has this tag.</param>
/// <param name="Alias">Has this alias.</param>
/// <param name="Text">Text in the name or description (case-insensitive).</param>
/// <param name="Limit">Page size.</param>
public sealed record ModelQuery(string After, string Prefix, string Task, string Tag, string Alias, string Text, int Limit);

/// <summary>
/// Models, their versions and aliases. Every change is one write session with its history and outbox
/// rows; the SQL comes from the dialect (<see cref="RegistryStatements"/>).
/// </summary>
public sealed class ModelStore(RegistryDb database)
{
    /// <summary>Alias history kinds.</summary>
    public const string KindSet = "set", KindRollback = "rollback", KindDelete = "delete";

    private const string StatusReady = "ready";
    private const string StatusArchived = "archived";
    private const string StatusRegistering = "registering";
    private const string StatusFailed = "failed";

    /// <summary>Creates a model with its tags and a <see cref="ModelCreated"/> event; with <paramref name="ifAbsent"/> an existing one is returned instead of AlreadyExists.</summary>
    /// <returns>The model and whether this call created it.</returns>
    public async Task<(Model Model, bool Created)> CreateModelAsync(string name, string description, string task, string owner,
        IReadOnlyList<string> tags, bool ifAbsent, CancellationToken cancellationToken)
    {
        await using var db = await database.WriteAsync(cancellationToken);
        var inserted = await db.ExecuteAsync(db.Sql.InsertModel, cancellationToken,
            ("name", name), ("description", description), ("task", task), ("owner", owner), ("at", db.Now));
        if (inserted == 0)
        {
            if (!ifAbsent)
            {
                throw MeshErrors.AlreadyExists($"Model '{name}' already exists; pass if_absent to get the existing model instead.");
            }
            return (await ReadModelAsync(db, name, cancellationToken) ?? throw Vanished(name), false);
        }
        var sorted = tags.Order(StringComparer.Ordinal).ToList();
        foreach (var tag in sorted)
        {
            await db.ExecuteAsync(db.Sql.InsertModelTag, cancellationToken, ("model", name), ("tag", tag));
        }
        db.Publish(new ModelCreated { ModelName = name, Description = description, Task = task, Owner = owner, Tags = sorted });
        var model = await ReadModelAsync(db, name, cancellationToken) ?? throw Vanished(name);
        await db.CommitAsync(cancellationToken);
        return (model, true);
    }

    /// <summary>One model with its tags, aliases and latest version, or null.</summary>
    public async Task<Model?> GetModelAsync(string name, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        return await ReadModelAsync(db, name, cancellationToken);
    }

    /// <summary>Whether a model of this name exists.</summary>
    public async Task<bool> ModelExistsAsync(string name, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        return await ModelExistsAsync(db, name, cancellationToken);
    }

    /// <summary>One page of models by name, with their tags and aliases.</summary>
    public async Task<Page<Model>> SearchModelsAsync(ModelQuery query, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        // Every valid name is below "~" (0x7E): [prefix, prefix + "~") holds exactly the names that start with prefix.
        var rows = await db.QueryAsync(db.Sql.SearchModels, r => ToModel(db, r), cancellationToken,
            ("after", query.After), ("prefix", query.Prefix), ("prefix_end", query.Prefix + "~"), ("task", query.Task),
            ("tag", query.Tag), ("alias", query.Alias), ("query", query.Text.ToLowerInvariant()), ("limit", query.Limit + 1));
        var page = Page<Model>.From(rows, query.Limit);
        if (page.Items.Count == 0) return page;

        var byName = page.Items.ToDictionary(m => m.Name, StringComparer.Ordinal);
        (string First, string Last) range = (page.Items[0].Name, page.Items[^1].Name);
        foreach (var (model, tag) in await db.QueryAsync(db.Sql.SelectTagsInRange, r => (r.GetString(0), r.GetString(1)), cancellationToken,
            ("first", range.First), ("last", range.Last)))
        {
            if (byName.TryGetValue(model, out var found)) found.Tags.Add(tag);
        }
        foreach (var (model, alias, version) in await db.QueryAsync(db.Sql.SelectAliasesInRange,
            r => (r.GetString(0), r.GetString(1), r.GetInt64(2)), cancellationToken, ("first", range.First), ("last", range.Last)))
        {
            if (byName.TryGetValue(model, out var found)) found.Aliases[alias] = version;
        }
        return page;
    }

    /// <summary>
    /// Stores a version whose artifact is already in the blob store: the number comes from the model's
    /// counter, taken in the same write session that inserts the row and its <see cref="ModelVersionRegistered"/>.
    /// A manifest naming a training job that already registered a version of the model returns that version.
    /// </summary>
    public async Task<ModelVersion> InsertVersionAsync(VersionManifest manifest, StoredBlob artifact, CancellationToken cancellationToken)
    {
        await using var db = await database.WriteAsync(cancellationToken);
        var model = manifest.ModelName;
        await RequireModelAsync(db, model, "; create it before registering versions", cancellationToken);
        var lineage = manifest.Lineage ?? new Lineage();
        if (lineage.TrainingJobId.Length > 0
            && await db.LongAsync(db.Sql.SelectVersionByTrainingJob, cancellationToken, ("model", model), ("job_id", lineage.TrainingJobId)) is { } registered)
        {
            // A training job registers once: the same job run again (a command redelivered to another trainer after a
            // broker outage) gets the version it already has, and no second ModelVersionRegistered.
            return await ReadVersionAsync(db, model, registered, cancellationToken) ?? throw Vanished(model);
        }
        if (lineage.ParentVersion > 0 && await ReadVersionAsync(db, model, lineage.ParentVersion, cancellationToken) is null)
        {
            throw MeshErrors.NotFound($"lineage.parent_version {lineage.ParentVersion} is not a version of model '{model}'.");
        }
        var number = await db.LongAsync(db.Sql.NextVersionNumber, cancellationToken, ("model", model))
            ?? throw Vanished(model);
        var signature = new SignatureJson(
            manifest.Inputs.Select(TensorJson.From).ToList(), manifest.Outputs.Select(TensorJson.From).ToList());
        await db.ExecuteAsync(db.Sql.InsertVersion, cancellationToken,
            ("model", model), ("version", number), ("digest", artifact.Digest), ("size", artifact.Size),
            ("signature", JsonColumns.ToJson(signature)),
            ("metrics", JsonColumns.ToJson(manifest.Metrics.ToDictionary(kv => kv.Key, kv => kv.Value))),
            ("hyperparameters", JsonColumns.ToJson(manifest.Hyperparameters.ToDictionary(kv => kv.Key, kv => kv.Value))),
            ("ds_name", lineage.DatasetName), ("ds_version", lineage.DatasetVersion), ("ds_digest", lineage.DatasetDigest),
            ("job_id", lineage.TrainingJobId), ("parent", lineage.ParentVersion),
            ("status", StatusReady), ("created_by", manifest.CreatedBy), ("at", db.Now), ("model_card", manifest.ModelCard));
        db.Publish(new ModelVersionRegistered
        {
            ModelName = model,
            Version = number,
            ArtifactDigest = artifact.Digest,
            ArtifactSize = artifact.Size,
            TrainingJobId = lineage.TrainingJobId,
            // The job id ties data → job → version → deployment together; a hand-registered version starts no chain.
            CorrelationId = lineage.TrainingJobId,
        });
        var stored = await ReadVersionAsync(db, model, number, cancellationToken)
            ?? throw new InvalidOperationException($"Version {number} of '{model}' vanished inside its own transaction.");
        await db.CommitAsync(cancellationToken);
        return stored;
    }

    /// <summary>One version with its model card, or null.</summary>
    public async Task<ModelVersion?> GetVersionAsync(string model, long version, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        return await ReadVersionAsync(db, model, version, cancellationToken);
    }

    /// <summary>The version an alias points at, or null when the model has no such alias.</summary>
    public async Task<long?> ResolveAliasAsync(string model, string alias, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        return await db.LongAsync(db.Sql.SelectAlias, cancellationToken, ("model", model), ("alias", alias));
    }

    /// <summary>One page of a model's versions, oldest first, without model cards.</summary>
    public async Task<Page<ModelVersion>> ListVersionsAsync(string model, long after, int limit, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        var rows = await db.QueryAsync(db.Sql.ListVersions, r => ToVersion(db, r), cancellationToken,
            ("model", model), ("after", after), ("limit", limit + 1));
        return Page<ModelVersion>.From(rows, limit);
    }

    /// <summary>
    /// Points an alias at a version, recording the move (from, to, actor, reason, time) and an
    /// <see cref="AliasMoved"/> event in one transaction. Pointing it where it already points changes nothing.
    /// </summary>
    public async Task<AliasChange> SetAliasAsync(string model, string alias, long version, string actor, string reason,
        CancellationToken cancellationToken)
    {
        await using var db = await database.WriteAsync(cancellationToken);
        await RequireModelAsync(db, model, "", cancellationToken);
        var target = await ReadVersionAsync(db, model, version, cancellationToken)
            ?? throw MeshErrors.NotFound($"Model '{model}' has no version {version}; an alias can only point at a registered version.");
        RequireServable(target, $"alias '{alias}' cannot point at it");
        var current = await db.LongAsync(db.Sql.SelectAlias, cancellationToken, ("model", model), ("alias", alias)) ?? 0;
        if (current == version)
        {
            return new AliasChange(current, version, Moved: false);
        }
        await MoveAliasAsync(db, target, alias, current, actor, reason, KindSet, cancellationToken);
        await db.CommitAsync(cancellationToken);
        return new AliasChange(current, version, Moved: true);
    }

    /// <summary>Removes an alias, recording the removal and an <see cref="AliasDeleted"/> event.</summary>
    /// <returns>The version the alias pointed at.</returns>
    public async Task<long> DeleteAliasAsync(string model, string alias, string actor, string reason, CancellationToken cancellationToken)
    {
        await using var db = await database.WriteAsync(cancellationToken);
        await RequireModelAsync(db, model, "", cancellationToken);
        var current = await db.LongAsync(db.Sql.SelectAlias, cancellationToken, ("model", model), ("alias", alias))
            ?? throw MeshErrors.NotFound($"Model '{model}' has no alias '{alias}'.");
        await db.ExecuteAsync(db.Sql.DeleteAlias, cancellationToken, ("model", model), ("alias", alias));
        await db.ExecuteAsync(db.Sql.InsertAliasHistory, cancellationToken, ("model", model), ("alias", alias),
            ("from_version", current), ("to_version", 0L), ("actor", actor), ("reason", reason), ("at", db.Now), ("kind", KindDelete));
        db.Publish(new AliasDeleted { ModelName = model, Alias = alias, FromVersion = current, Actor = actor, Reason = reason });
        await db.CommitAsync(cancellationToken);
        return current;
    }

    /// <summary>
    /// Moves an alias back to the target it had before its current one. The history is read as a stack:
    /// a set pushes its target, a rollback pops one, a delete empties it; so repeated rollbacks walk further
    /// back (3 → 2 → 1) instead of flipping between two versions.
    /// </summary>
    public async Task<AliasChange> RollbackAsync(string model, string alias, string actor, string reason, CancellationToken cancellationToken)
    {
        await using var db = await database.WriteAsync(cancellationToken);
        await RequireModelAsync(db, model, "", cancellationToken);
        var current = await db.LongAsync(db.Sql.SelectAlias, cancellationToken, ("model", model), ("alias", alias))
            ?? throw MeshErrors.FailedPrecondition($"Model '{model}' has no alias '{alias}'; there is nothing to roll back.");
        var stack = new List<long>();
        foreach (var (to, kind) in await db.QueryAsync(db.Sql.SelectAliasChain, r => (r.GetInt64(0), r.GetString(1)), cancellationToken,
            ("model", model), ("alias", alias)))
        {
            switch (kind)
            {
                case KindDelete: stack.Clear(); break;
                case KindRollback: if (stack.Count > 0) stack.RemoveAt(stack.Count - 1); break;
                default: stack.Add(to); break;
            }
        }
        if (stack.Count < 2)
        {
            throw MeshErrors.FailedPrecondition(
                $"Alias '{alias}' of model '{model}' has no earlier target to roll back to; it points at version {current} and nothing before it is recorded.");
        }
        var previous = stack[^2];
        var target = await ReadVersionAsync(db, model, previous, cancellationToken)
            ?? throw MeshErrors.FailedPrecondition(
                $"The previous target of alias '{alias}' of model '{model}', version {previous}, has been deleted; point the alias with SetAlias instead.");
        RequireServable(target, $"alias '{alias}' cannot roll back to it; point the alias with SetAlias instead");
        await MoveAliasAsync(db, target, alias, current, actor, reason, KindRollback, cancellationToken);
        await db.CommitAsync(cancellationToken);
        return new AliasChange(current, previous, Moved: true);
    }

    /// <summary>One page of alias changes, newest first; an empty alias means all aliases of the model.</summary>
    public async Task<Page<(long Id, AliasHistoryEntry Entry)>> GetAliasHistoryAsync(string model, string alias, long before, int limit,
        CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        var rows = await db.QueryAsync(db.Sql.SelectAliasHistory, r => (r.GetInt64(0), ToHistoryEntry(db, r)), cancellationToken,
            ("model", model), ("alias", alias), ("before", before), ("limit", limit + 1));
        return Page<(long, AliasHistoryEntry)>.From(rows, limit);
    }

    /// <summary>The last change of an alias at or before <paramref name="at"/>, or null when it had none by then.</summary>
    public async Task<AliasHistoryEntry?> GetAliasChangeAtAsync(string model, string alias, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        return await db.FirstAsync(db.Sql.SelectAliasAt, r => ToHistoryEntry(db, r), cancellationToken,
            ("model", model), ("alias", alias), ("at", at));
    }

    /// <summary>Archives a version that no alias or current deployment uses, with a <see cref="VersionArchived"/> event; archiving twice changes nothing.</summary>
    public async Task<(ModelVersion Version, bool Changed)> ArchiveVersionAsync(string model, long version, string actor, string reason,
        CancellationToken cancellationToken)
    {
        await using var db = await database.WriteAsync(cancellationToken);
        var found = await RequireVersionAsync(db, model, version, cancellationToken);
        if (found.Status == VersionStatus.Archived)
        {
            return (found, false);
        }
        await RequireUnusedAsync(db, model, version, "archiving", cancellationToken);
        await db.ExecuteAsync(db.Sql.SetVersionStatus, cancellationToken, ("model", model), ("version", version), ("status", StatusArchived));
        db.Publish(new VersionArchived { ModelName = model, Version = version, Actor = actor, Reason = reason });
        var archived = await ReadVersionAsync(db, model, version, cancellationToken) ?? throw Vanished(model);
        await db.CommitAsync(cancellationToken);
        return (archived, true);
    }

    /// <summary>Deletes the metadata of a version that no alias or current deployment uses, with a <see cref="VersionDeleted"/> event.</summary>
    /// <returns>The version as it was (its digest tells the caller which blob may now be unused).</returns>
    public async Task<ModelVersion> DeleteVersionAsync(string model, long version, string actor, string reason, CancellationToken cancellationToken)
    {
        await using var db = await database.WriteAsync(cancellationToken);
        var found = await RequireVersionAsync(db, model, version, cancellationToken);
        await RequireUnusedAsync(db, model, version, "deleting", cancellationToken);
        await db.ExecuteAsync(db.Sql.DeleteVersion, cancellationToken, ("model", model), ("version", version));
        db.Publish(new VersionDeleted
        {
            ModelName = model, Version = version, ArtifactDigest = found.ArtifactDigest, Actor = actor, Reason = reason,
        });
        await db.CommitAsync(cancellationToken);
        return found;
    }

    /// <summary>Whether a version or dataset still stores these bytes.</summary>
    public async Task<bool> IsDigestReferencedAsync(string digest, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        return await db.LongAsync(db.Sql.DigestReferenced, cancellationToken, ("digest", digest)) == 1;
    }

    /// <summary>A version inside a session, or null.</summary>
    internal static Task<ModelVersion?> ReadVersionAsync(DbSession db, string model, long version, CancellationToken cancellationToken) =>
        db.FirstAsync(db.Sql.SelectVersion, r => ToVersion(db, r), cancellationToken, ("model", model), ("version", version));

    /// <summary>NotFound unless the model exists; in a write session this is <see cref="RegistryStatements.LockModel"/>.</summary>
    internal static async Task RequireModelAsync(DbSession db, string model, string hint, CancellationToken cancellationToken)
    {
        if (!await ModelExistsAsync(db, model, cancellationToken))
        {
            throw MeshErrors.NotFound($"Model '{model}' does not exist{hint}.");
        }
    }

    /// <summary>FailedPrecondition when the version may not be aliased or deployed.</summary>
    internal static void RequireServable(ModelVersion version, string consequence)
    {
        if (version.Status != VersionStatus.Ready)
        {
            throw MeshErrors.FailedPrecondition(
                $"Version {version.Version} of model '{version.ModelName}' is {StatusText(version.Status)}; {consequence}.");
        }
    }

    private static async Task<bool> ModelExistsAsync(DbSession db, string model, CancellationToken cancellationToken) =>
        await db.FirstAsync(db.IsWrite ? db.Sql.LockModel : db.Sql.ModelExists, r => r.GetString(0), cancellationToken, ("model", model)) is not null;

    private static async Task<ModelVersion> RequireVersionAsync(DbSession db, string model, long version, CancellationToken cancellationToken)
    {
        await RequireModelAsync(db, model, "", cancellationToken);
        return await ReadVersionAsync(db, model, version, cancellationToken)
            ?? throw MeshErrors.NotFound($"Model '{model}' has no version {version}.");
    }

    /// <summary>FailedPrecondition naming what still uses the version: its aliases, then the current deployment.</summary>
    private static async Task RequireUnusedAsync(DbSession db, string model, long version, string action, CancellationToken cancellationToken)
    {
        var aliases = await db.QueryAsync(db.Sql.SelectVersionAliases, r => r.GetString(0), cancellationToken,
            ("model", model), ("version", version));
        if (aliases.Count > 0)
        {
            var names = string.Join(", ", aliases.Select(a => $"'{a}'"));
            throw MeshErrors.FailedPrecondition(
                $"Version {version} of model '{model}' is behind alias {names}; move or delete the alias before {action} it.");
        }
        var deployment = await DeploymentStore.ReadCurrentAsync(db, model, cancellationToken);
        var entry = deployment.Entries.FirstOrDefault(e => e.Version == version);
        if (entry is not null)
        {
            throw MeshErrors.FailedPrecondition(
                $"Version {version} of model '{model}' is in deployment revision {deployment.Revision} (pool '{entry.Pool}', weight {entry.Weight}); set a deployment without it before {action} it.");
        }
        if (deployment.Shadow?.Version == version)
        {
            throw MeshErrors.FailedPrecondition(
                $"Version {version} of model '{model}' is the shadow of deployment revision {deployment.Revision} ({deployment.Shadow.Percent}% mirrored); set a deployment without it before {action} it.");
        }
    }

    private static async Task MoveAliasAsync(DbSession db, ModelVersion target, string alias, long current, string actor, string reason,
        string kind, CancellationToken cancellationToken)
    {
        var model = target.ModelName;
        await db.ExecuteAsync(db.Sql.UpsertAlias, cancellationToken, ("model", model), ("alias", alias), ("version", target.Version), ("at", db.Now));
        await db.ExecuteAsync(db.Sql.InsertAliasHistory, cancellationToken, ("model", model), ("alias", alias),
            ("from_version", current), ("to_version", target.Version), ("actor", actor), ("reason", reason), ("at", db.Now), ("kind", kind));
        db.Publish(new AliasMoved
        {
            ModelName = model,
            Alias = alias,
            FromVersion = current,
            ToVersion = target.Version,
            Actor = actor,
            Reason = reason,
            Rollback = kind == KindRollback,
            // A move continues the chain of the version it now serves.
            CorrelationId = target.Lineage?.TrainingJobId ?? "",
        });
    }

    private static async Task<Model?> ReadModelAsync(DbSession db, string name, CancellationToken cancellationToken)
    {
        var model = await db.FirstAsync(db.Sql.SelectModel, r => ToModel(db, r), cancellationToken, ("model", name));
        if (model is null) return null;
        model.Tags.AddRange(await db.QueryAsync(db.Sql.SelectModelTags, r => r.GetString(0), cancellationToken, ("model", name)));
        foreach (var (alias, version) in await db.QueryAsync(db.Sql.SelectModelAliases, r => (r.GetString(0), r.GetInt64(1)), cancellationToken,
            ("model", name)))
        {
            model.Aliases[alias] = version;
        }
        return model;
    }

    private static InvalidOperationException Vanished(string model) => new($"Model '{model}' vanished inside its own transaction.");

    private static string StatusText(VersionStatus status) => status switch
    {
        VersionStatus.Archived => "archived",
        VersionStatus.Registering => "still registering",
        VersionStatus.Failed => "a failed registration",
        _ => "not ready",
    };

    private static Model ToModel(DbSession db, DbDataReader reader) => new()
    {
        Name = reader.GetString(0),
        Description = reader.GetString(1),
        Task = reader.GetString(2),
        Owner = reader.GetString(3),
        CreatedAt = db.Timestamp(reader, 4),
        LatestVersion = reader.GetInt64(5),
    };

    private static AliasHistoryEntry ToHistoryEntry(DbSession db, DbDataReader reader) => new()
    {
        Alias = reader.GetString(1),
        FromVersion = reader.GetInt64(2),
        ToVersion = reader.GetInt64(3),
        Actor = reader.GetString(4),
        Reason = reader.GetString(5),
        At = db.Timestamp(reader, 6),
        Kind = reader.GetString(7),
    };

    private static ModelVersion ToVersion(DbSession db, DbDataReader reader)
    {
        var signature = JsonColumns.FromJson<SignatureJson>(reader.GetString(4));
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
                StatusRegistering => VersionStatus.Registering,
                StatusFailed => VersionStatus.Failed,
                _ => VersionStatus.Unspecified,
            },
            CreatedBy = reader.GetString(13),
            CreatedAt = db.Timestamp(reader, 14),
            ModelCard = reader.GetString(15),
        };
        version.Inputs.AddRange(signature.Inputs.Select(t => t.ToProto()));
        version.Outputs.AddRange(signature.Outputs.Select(t => t.ToProto()));
        version.Metrics.Add(JsonColumns.FromJson<Dictionary<string, double>>(reader.GetString(5)));
        version.Hyperparameters.Add(JsonColumns.FromJson<Dictionary<string, string>>(reader.GetString(6)));
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
