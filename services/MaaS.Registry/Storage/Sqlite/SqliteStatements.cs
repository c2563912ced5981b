using MaaS.Registry.Storage.Data;

namespace MaaS.Registry.Storage.Sqlite;

/// <summary>All of the registry's SQL for SQLite, in one place (the schema is in <see cref="SqliteMigrations"/>).</summary>
public static class SqliteStatements
{
    private const string ModelColumns = """
        m.name, m.description, m.task, m.owner, m.created_at,
        (SELECT COALESCE(MAX(v.version), 0) FROM versions v WHERE v.model = m.name)
        """;

    private const string VersionColumnsWithoutCard = """
        model, version, artifact_digest, artifact_size, signature_json, metrics_json, hyperparameters_json,
        lineage_dataset_name, lineage_dataset_version, lineage_dataset_digest, lineage_training_job_id,
        lineage_parent_version, status, created_by, created_at
        """;

    private const string DatasetColumns =
        "name, version, digest, size, row_count, columns_json, format, description, created_at, schema_json, statistics_json";

    private const string AliasHistoryColumns = "id, alias, from_version, to_version, actor, reason, at, kind";

    private const string DeploymentColumns = "revision, shadow_version, shadow_percent, actor, reason, created_at";

    /// <summary>The statements.</summary>
    public static RegistryStatements Create() => new()
    {
        ModelExists = "SELECT name FROM models WHERE name = @model;",
        // BEGIN IMMEDIATE already holds the one write lock of the file; this only answers "does it exist".
        LockModel = "SELECT name FROM models WHERE name = @model;",
        InsertModel = """
            INSERT INTO models(name, description, task, owner, created_at, last_version)
            VALUES (@name, @description, @task, @owner, @at, 0)
            ON CONFLICT(name) DO NOTHING;
            """,
        InsertModelTag = "INSERT INTO model_tags(model, tag) VALUES (@model, @tag);",
        SelectModel = $"SELECT {ModelColumns} FROM models m WHERE m.name = @model;",
        SelectModelTags = "SELECT tag FROM model_tags WHERE model = @model ORDER BY tag;",
        SelectModelAliases = "SELECT alias, version FROM aliases WHERE model = @model;",
        SearchModels = $"""
            SELECT {ModelColumns}
            FROM models m
            WHERE m.name > @after AND m.name >= @prefix AND m.name < @prefix_end
              AND (@task = '' OR m.task = @task)
              AND (@tag = '' OR EXISTS (SELECT 1 FROM model_tags t WHERE t.model = m.name AND t.tag = @tag))
              AND (@alias = '' OR EXISTS (SELECT 1 FROM aliases a WHERE a.model = m.name AND a.alias = @alias))
              AND (@query = '' OR instr(lower(m.name), @query) > 0 OR instr(lower(m.description), @query) > 0)
            ORDER BY m.name
            LIMIT @limit;
            """,
        SelectTagsInRange = "SELECT model, tag FROM model_tags WHERE model >= @first AND model <= @last ORDER BY model, tag;",
        SelectAliasesInRange = "SELECT model, alias, version FROM aliases WHERE model >= @first AND model <= @last;",

        NextVersionNumber = "UPDATE models SET last_version = last_version + 1 WHERE name = @model RETURNING last_version;",
        SelectVersionByTrainingJob = "SELECT version FROM versions WHERE model = @model AND lineage_training_job_id = @job_id ORDER BY version LIMIT 1;",
        InsertVersion = $"""
            INSERT INTO versions({VersionColumnsWithoutCard}, model_card) VALUES (
                @model, @version, @digest, @size, @signature, @metrics, @hyperparameters,
                @ds_name, @ds_version, @ds_digest, @job_id, @parent, @status, @created_by, @at, @model_card);
            """,
        SelectVersion = $"SELECT {VersionColumnsWithoutCard}, model_card FROM versions WHERE model = @model AND version = @version;",
        ListVersions = $"""
            SELECT {VersionColumnsWithoutCard}, '' FROM versions
            WHERE model = @model AND version > @after ORDER BY version LIMIT @limit;
            """,
        SetVersionStatus = "UPDATE versions SET status = @status WHERE model = @model AND version = @version;",
        DeleteVersion = "DELETE FROM versions WHERE model = @model AND version = @version;",
        SelectVersionAliases = "SELECT alias FROM aliases WHERE model = @model AND version = @version ORDER BY alias;",
        DigestReferenced = """
            SELECT CASE WHEN EXISTS (SELECT 1 FROM versions WHERE artifact_digest = @digest)
                          OR EXISTS (SELECT 1 FROM datasets WHERE digest = @digest) THEN 1 ELSE 0 END;
            """,

        SelectAlias = "SELECT version FROM aliases WHERE model = @model AND alias = @alias;",
        UpsertAlias = """
            INSERT INTO aliases(model, alias, version, updated_at) VALUES (@model, @alias, @version, @at)
            ON CONFLICT(model, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at;
            """,
        DeleteAlias = "DELETE FROM aliases WHERE model = @model AND alias = @alias;",
        InsertAliasHistory = """
            INSERT INTO alias_history(model, alias, from_version, to_version, actor, reason, at, kind)
            VALUES (@model, @alias, @from_version, @to_version, @actor, @reason, @at, @kind);
            """,
        SelectAliasHistory = $"""
            SELECT {AliasHistoryColumns} FROM alias_history
            WHERE model = @model AND (@alias = '' OR alias = @alias) AND id < @before
            ORDER BY id DESC LIMIT @limit;
            """,
        SelectAliasChain = "SELECT to_version, kind FROM alias_history WHERE model = @model AND alias = @alias ORDER BY id;",
        SelectAliasAt = $"""
            SELECT {AliasHistoryColumns} FROM alias_history
            WHERE model = @model AND alias = @alias AND at <= @at
            ORDER BY at DESC, id DESC LIMIT 1;
            """,

        // BEGIN IMMEDIATE serialises every writer of the file already.
        LockDatasetName = "SELECT @name;",
        NextDatasetVersion = "SELECT COALESCE(MAX(version), 0) + 1 FROM datasets WHERE name = @name;",
        InsertDataset = $"""
            INSERT INTO datasets({DatasetColumns})
            VALUES (@name, @version, @digest, @size, @rows, @columns, @format, @description, @at, @schema, @statistics);
            """,
        SelectDataset = $"SELECT {DatasetColumns} FROM datasets WHERE name = @name AND version = @version;",
        SelectLatestDataset = $"SELECT {DatasetColumns} FROM datasets WHERE name = @name ORDER BY version DESC LIMIT 1;",
        ListDatasetVersions = $"SELECT {DatasetColumns} FROM datasets WHERE name = @name AND version > @after ORDER BY version LIMIT @limit;",
        ListLatestDatasets = $"""
            SELECT {DatasetColumns} FROM datasets d
            WHERE d.name > @after AND d.name >= @prefix AND d.name < @prefix_end
              AND d.version = (SELECT MAX(x.version) FROM datasets x WHERE x.name = d.name)
            ORDER BY d.name LIMIT @limit;
            """,

        SelectCurrentDeployment = $"SELECT {DeploymentColumns} FROM deployments WHERE model = @model ORDER BY revision DESC LIMIT 1;",
        SelectDeploymentHistory = $"""
            SELECT {DeploymentColumns} FROM deployments
            WHERE model = @model AND revision < @before ORDER BY revision DESC LIMIT @limit;
            """,
        SelectDeploymentEntries = """
            SELECT revision, version, pool, weight FROM deployment_entries
            WHERE model = @model AND revision >= @low AND revision <= @high ORDER BY revision, position;
            """,
        InsertDeployment = """
            INSERT INTO deployments(model, revision, shadow_version, shadow_percent, actor, reason, created_at)
            VALUES (@model, @revision, @shadow_version, @shadow_percent, @actor, @reason, @at);
            """,
        InsertDeploymentEntry = """
            INSERT INTO deployment_entries(model, revision, position, version, pool, weight)
            VALUES (@model, @revision, @position, @version, @pool, @weight);
            """,
    };
}
