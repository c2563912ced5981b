namespace MaaS.Registry.Storage.Data;

/// <summary>
/// Every SQL statement the registry runs, as one value per database: the SQLite text lives in
/// <c>Sqlite/SqliteStatements.cs</c>; a PostgreSQL store supplies its own instance. Parameters are
/// written <c>@name</c>; each entry lists its parameters and, for queries, its columns in order, which is
/// the contract the stores read by position. Times are whatever <see cref="IRegistryDialect.ToDbTime"/>
/// writes. Names compare byte-wise (ASCII order): a server database declares its name columns with a
/// binary collation (PostgreSQL: <c>COLLATE "C"</c>) so paging and prefix ranges agree.
/// </summary>
public sealed record RegistryStatements
{
    // ---- models -------------------------------------------------------------------------------------

    /// <summary>(model) → a row (its name) when the model exists; used by reads.</summary>
    public required string ModelExists { get; init; }

    /// <summary>
    /// (model) → a row (its name) when the model exists, run first by every write that concerns one model;
    /// a server database locks the row here (PostgreSQL: <c>FOR UPDATE</c>) so per-model numbering, alias
    /// moves and deployment revisions are serialised.
    /// </summary>
    public required string LockModel { get; init; }

    /// <summary>(name, description, task, owner, at) → 1 row changed, 0 when the name is taken (no error).</summary>
    public required string InsertModel { get; init; }

    /// <summary>(model, tag).</summary>
    public required string InsertModelTag { get; init; }

    /// <summary>(model) → name, description, task, owner, created_at, latest_version (highest existing, 0 = none).</summary>
    public required string SelectModel { get; init; }

    /// <summary>(model) → tag, sorted.</summary>
    public required string SelectModelTags { get; init; }

    /// <summary>(model) → alias, version.</summary>
    public required string SelectModelAliases { get; init; }

    /// <summary>
    /// (after, prefix, prefix_end, task, tag, alias, query, limit) → the columns of <see cref="SelectModel"/>,
    /// by name, names &gt; after and in [prefix, prefix_end); an empty task/tag/alias/query means "any";
    /// query is lower-case text found in the lower-cased name or description.
    /// </summary>
    public required string SearchModels { get; init; }

    /// <summary>(first, last) → model, tag of the models named in [first, last], by model then tag.</summary>
    public required string SelectTagsInRange { get; init; }

    /// <summary>(first, last) → model, alias, version of the models named in [first, last].</summary>
    public required string SelectAliasesInRange { get; init; }

    // ---- versions -----------------------------------------------------------------------------------

    /// <summary>(model) → the next version number, stored as the model's last number (numbers are never reused).</summary>
    public required string NextVersionNumber { get; init; }

    /// <summary>(model, job_id) → the version a training job already registered, if any.</summary>
    public required string SelectVersionByTrainingJob { get; init; }

    /// <summary>
    /// (model, version, digest, size, signature, metrics, hyperparameters, ds_name, ds_version, ds_digest,
    /// job_id, parent, status, created_by, at, model_card).
    /// </summary>
    public required string InsertVersion { get; init; }

    /// <summary>
    /// (model, version) → model, version, artifact_digest, artifact_size, signature_json, metrics_json,
    /// hyperparameters_json, lineage dataset name, dataset version, dataset digest, training job id, parent
    /// version, status, created_by, created_at, model_card.
    /// </summary>
    public required string SelectVersion { get; init; }

    /// <summary>(model, after, limit) → the columns of <see cref="SelectVersion"/> with an empty model card, by version, versions &gt; after.</summary>
    public required string ListVersions { get; init; }

    /// <summary>(model, version, status).</summary>
    public required string SetVersionStatus { get; init; }

    /// <summary>(model, version).</summary>
    public required string DeleteVersion { get; init; }

    /// <summary>(model, version) → alias, sorted: the aliases pointing at the version.</summary>
    public required string SelectVersionAliases { get; init; }

    /// <summary>(digest) → 1 when a version or a dataset stores this digest, else 0.</summary>
    public required string DigestReferenced { get; init; }

    // ---- aliases ------------------------------------------------------------------------------------

    /// <summary>(model, alias) → version, or no row.</summary>
    public required string SelectAlias { get; init; }

    /// <summary>(model, alias, version, at): insert or move.</summary>
    public required string UpsertAlias { get; init; }

    /// <summary>(model, alias).</summary>
    public required string DeleteAlias { get; init; }

    /// <summary>(model, alias, from_version, to_version, actor, reason, at, kind); kind is set, rollback or delete.</summary>
    public required string InsertAliasHistory { get; init; }

    /// <summary>
    /// (model, alias, before, limit) → id, alias, from_version, to_version, actor, reason, at, kind; newest
    /// first, ids &lt; before; an empty alias means every alias of the model.
    /// </summary>
    public required string SelectAliasHistory { get; init; }

    /// <summary>(model, alias) → to_version, kind; oldest first (the chain Rollback walks).</summary>
    public required string SelectAliasChain { get; init; }

    /// <summary>(model, alias, at) → the columns of <see cref="SelectAliasHistory"/> for the last change at or before <c>at</c>.</summary>
    public required string SelectAliasAt { get; init; }

    // ---- datasets -----------------------------------------------------------------------------------

    /// <summary>(name) → serialises numbering of one dataset name (SQLite: no-op under BEGIN IMMEDIATE; PostgreSQL: an advisory lock).</summary>
    public required string LockDatasetName { get; init; }

    /// <summary>(name) → highest version of the dataset + 1.</summary>
    public required string NextDatasetVersion { get; init; }

    /// <summary>(name, version, digest, size, rows, columns, format, description, at, schema, statistics).</summary>
    public required string InsertDataset { get; init; }

    /// <summary>
    /// (name, version) → name, version, digest, size, row_count, columns_json, format, description,
    /// created_at, schema_json, statistics_json.
    /// </summary>
    public required string SelectDataset { get; init; }

    /// <summary>(name) → the columns of <see cref="SelectDataset"/> for the highest version.</summary>
    public required string SelectLatestDataset { get; init; }

    /// <summary>(name, after, limit) → the columns of <see cref="SelectDataset"/>, by version, versions &gt; after.</summary>
    public required string ListDatasetVersions { get; init; }

    /// <summary>(after, prefix, prefix_end, limit) → the columns of <see cref="SelectDataset"/> for each name's highest version, by name.</summary>
    public required string ListLatestDatasets { get; init; }

    // ---- deployments --------------------------------------------------------------------------------

    /// <summary>(model) → revision, shadow_version (0 = none), shadow_percent, actor, reason, created_at of the highest revision.</summary>
    public required string SelectCurrentDeployment { get; init; }

    /// <summary>(model, before, limit) → the columns of <see cref="SelectCurrentDeployment"/>, newest first, revisions &lt; before.</summary>
    public required string SelectDeploymentHistory { get; init; }

    /// <summary>(model, low, high) → revision, version, pool, weight of revisions in [low, high], by revision then position.</summary>
    public required string SelectDeploymentEntries { get; init; }

    /// <summary>(model, revision, shadow_version, shadow_percent, actor, reason, at).</summary>
    public required string InsertDeployment { get; init; }

    /// <summary>(model, revision, position, version, pool, weight).</summary>
    public required string InsertDeploymentEntry { get; init; }
}
