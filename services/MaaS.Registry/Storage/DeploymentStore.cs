using System.Data.Common;
using MaaS.Contracts;
using MaaS.Registry.Storage.Data;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;

namespace MaaS.Registry.Storage;

/// <summary>
/// Deployments: the desired traffic of a model as numbered revisions. A change never edits a revision;
/// it adds the next one (with its entries and a <see cref="DeploymentChanged"/> event), so the table is
/// its own history and the current deployment is the highest revision.
/// </summary>
public sealed class DeploymentStore(RegistryDb database)
{
    /// <summary>The current deployment; revision 0 with no entries when the model was never deployed.</summary>
    public async Task<Deployment> GetAsync(string model, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        await ModelStore.RequireModelAsync(db, model, "", cancellationToken);
        return await ReadCurrentAsync(db, model, cancellationToken);
    }

    /// <summary>One page of revisions, newest first, revisions below <paramref name="before"/>.</summary>
    public async Task<Page<Deployment>> GetHistoryAsync(string model, long before, int limit, CancellationToken cancellationToken)
    {
        await using var db = await database.ReadAsync(cancellationToken);
        await ModelStore.RequireModelAsync(db, model, "", cancellationToken);
        var rows = await db.QueryAsync(db.Sql.SelectDeploymentHistory, r => ToDeployment(db, model, r), cancellationToken,
            ("model", model), ("before", before), ("limit", limit + 1));
        var page = Page<Deployment>.From(rows, limit);
        if (page.Items.Count > 0)
        {
            await AddEntriesAsync(db, model, page.Items, cancellationToken);
        }
        return page;
    }

    /// <summary>
    /// Makes <paramref name="entries"/> and <paramref name="shadow"/> the model's deployment as a new
    /// revision. Every named version must exist (NotFound) and be ready (FailedPrecondition); a stale
    /// <paramref name="expectedRevision"/> is FailedPrecondition; the same state again changes nothing.
    /// </summary>
    public async Task<(Deployment Deployment, bool Changed)> SetAsync(string model, IReadOnlyList<DeploymentEntry> entries, ShadowTarget? shadow,
        string actor, string reason, long expectedRevision, CancellationToken cancellationToken)
    {
        await using var db = await database.WriteAsync(cancellationToken);
        await ModelStore.RequireModelAsync(db, model, "", cancellationToken);
        var versions = new Dictionary<long, ModelVersion>();
        var named = entries.Select((e, i) => (Version: e.Version, Role: $"entries[{i}]")).ToList();
        if (shadow is not null) named.Add((shadow.Version, "shadow"));
        foreach (var (number, role) in named)
        {
            if (versions.ContainsKey(number)) continue;
            var version = await ModelStore.ReadVersionAsync(db, model, number, cancellationToken)
                ?? throw MeshErrors.NotFound($"{role}.version: model '{model}' has no version {number}.");
            ModelStore.RequireServable(version, $"{role} cannot deploy it");
            versions[number] = version;
        }

        var current = await ReadCurrentAsync(db, model, cancellationToken);
        if (expectedRevision != 0 && expectedRevision != current.Revision)
        {
            throw MeshErrors.FailedPrecondition(
                $"expected_revision is {expectedRevision} but the deployment of model '{model}' is at revision {current.Revision}; read it again and retry.");
        }
        if (SameState(current, entries, shadow))
        {
            return (current, false);
        }

        var revision = current.Revision + 1;
        await db.ExecuteAsync(db.Sql.InsertDeployment, cancellationToken, ("model", model), ("revision", revision),
            ("shadow_version", shadow?.Version ?? 0L), ("shadow_percent", shadow?.Percent ?? 0), ("actor", actor), ("reason", reason),
            ("at", db.Now));
        for (var i = 0; i < entries.Count; i++)
        {
            await db.ExecuteAsync(db.Sql.InsertDeploymentEntry, cancellationToken, ("model", model), ("revision", revision), ("position", i),
                ("version", entries[i].Version), ("pool", entries[i].Pool), ("weight", entries[i].Weight));
        }
        // The heaviest target's training job continues the data → job → version → deployment chain.
        var heaviest = entries.OrderByDescending(e => e.Weight).FirstOrDefault();
        db.Publish(new DeploymentChanged
        {
            ModelName = model,
            Revision = revision,
            Entries = entries.Select(e => new DeploymentTarget { Version = e.Version, Pool = e.Pool, Weight = e.Weight }).ToList(),
            Shadow = shadow is null ? null : new ShadowDeployment { Version = shadow.Version, Percent = shadow.Percent },
            Actor = actor,
            Reason = reason,
            CorrelationId = heaviest is null ? "" : versions[heaviest.Version].Lineage?.TrainingJobId ?? "",
        });
        var stored = await ReadCurrentAsync(db, model, cancellationToken);
        await db.CommitAsync(cancellationToken);
        return (stored, true);
    }

    /// <summary>The highest revision with its entries inside a session; revision 0 when none.</summary>
    internal static async Task<Deployment> ReadCurrentAsync(DbSession db, string model, CancellationToken cancellationToken)
    {
        var current = await db.FirstAsync(db.Sql.SelectCurrentDeployment, r => ToDeployment(db, model, r), cancellationToken, ("model", model));
        if (current is null)
        {
            return new Deployment { ModelName = model, Revision = 0 };
        }
        await AddEntriesAsync(db, model, [current], cancellationToken);
        return current;
    }

    private static async Task AddEntriesAsync(DbSession db, string model, IReadOnlyList<Deployment> deployments, CancellationToken cancellationToken)
    {
        var byRevision = deployments.ToDictionary(d => d.Revision);
        var rows = await db.QueryAsync(db.Sql.SelectDeploymentEntries,
            r => (Revision: r.GetInt64(0), Entry: new DeploymentEntry { Version = r.GetInt64(1), Pool = r.GetString(2), Weight = r.GetInt32(3) }),
            cancellationToken, ("model", model), ("low", byRevision.Keys.Min()), ("high", byRevision.Keys.Max()));
        foreach (var (revision, entry) in rows)
        {
            if (byRevision.TryGetValue(revision, out var deployment)) deployment.Entries.Add(entry);
        }
    }

    private static bool SameState(Deployment current, IReadOnlyList<DeploymentEntry> entries, ShadowTarget? shadow) =>
        current.Entries.SequenceEqual(entries)
        && (current.Shadow is null ? shadow is null : shadow is not null && current.Shadow.Equals(shadow));

    private static Deployment ToDeployment(DbSession db, string model, DbDataReader reader)
    {
        var deployment = new Deployment
        {
            ModelName = model,
            Revision = reader.GetInt64(0),
            Actor = reader.GetString(3),
            Reason = reader.GetString(4),
            CreatedAt = db.Timestamp(reader, 5),
        };
        var shadowVersion = reader.GetInt64(1);
        if (shadowVersion > 0)
        {
            deployment.Shadow = new ShadowTarget { Version = shadowVersion, Percent = reader.GetInt32(2) };
        }
        return deployment;
    }
}
