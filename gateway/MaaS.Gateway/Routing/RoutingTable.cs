using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Routing;

/// <summary>A model version as replicas report it in RepositoryIndex.</summary>
public readonly record struct ModelVersionKey(string Model, long Version);

/// <summary>
/// One target of a deployment: a version, its share of the traffic (percent) and the pool whose
/// replicas serve it (empty = any pool).
/// </summary>
public readonly record struct WeightedVersion(long Version, int Weight, string Pool = "");

/// <summary>A model's current deployment as the registry gave it; empty entries = not deployed.</summary>
public sealed record DeploymentView(long Revision, IReadOnlyList<WeightedVersion> Entries, ShadowView? Shadow = null);

/// <summary>A version that receives a copy of <see cref="Percent"/> % of a model's ModelInfer calls.</summary>
public sealed record ShadowView(long Version, int Percent);

/// <summary>What the last poll learnt about one replica.</summary>
public sealed record ReplicaState(ReplicaOptions Replica, bool Live, IReadOnlySet<ModelVersionKey> Ready);

/// <summary>Whether a (model, version) could be mapped to replicas.</summary>
public enum RouteOutcome
{
    /// <summary>Replicas were found.</summary>
    Found,
    /// <summary>The model or the alias is unknown: the caller asked for something that does not exist.</summary>
    NotFound,
    /// <summary>The version exists for the mesh but no live replica (of its pool) has it ready now.</summary>
    Unavailable,
}

/// <summary>
/// The answer to "where does this request go": the concrete version, whether the gateway chose it
/// (the replica must then be told), and the replicas to try in order (round-robin first, then the rest).
/// </summary>
public sealed record RouteResult(
    RouteOutcome Outcome,
    string Model,
    long Version,
    bool ResolvedByGateway,
    IReadOnlyList<ReplicaOptions> Destinations,
    string Error)
{
    internal static RouteResult NotFound(string model, string error) => new(RouteOutcome.NotFound, model, 0, false, [], error);

    internal static RouteResult Unavailable(string model, string error) => new(RouteOutcome.Unavailable, model, 0, false, [], error);

    /// <summary>The gRPC status a caller gets when the route was not found.</summary>
    public Grpc.Core.StatusCode GrpcStatus => Outcome switch
    {
        RouteOutcome.Found => Grpc.Core.StatusCode.OK,
        RouteOutcome.NotFound => Grpc.Core.StatusCode.NotFound,
        _ => Grpc.Core.StatusCode.Unavailable,
    };

    /// <summary>The HTTP status a REST caller gets when the route was not found.</summary>
    public int HttpStatus => Outcome switch
    {
        RouteOutcome.Found => StatusCodes.Status200OK,
        RouteOutcome.NotFound => StatusCodes.Status404NotFound,
        _ => StatusCodes.Status503ServiceUnavailable,
    };
}

/// <summary>
/// Which replica serves which model version, and the registry's aliases. Written by the poller,
/// read on every request: readers take an immutable snapshot, so a request never sees half an update.
/// </summary>
public sealed class RoutingTable
{
    /// <summary>The alias an empty version follows.</summary>
    public const string ProductionAlias = "production";

    private readonly object _writeGate = new();
    private readonly ConcurrentDictionary<PoolKey, Cursor> _cursors = new();
    private readonly Cursor _anyCursor = new();
    private volatile Snapshot _snapshot;

    public RoutingTable(IOptions<GatewayOptions> options)
    {
        // Every replica starts out: it gets traffic only once it has answered a poll.
        _snapshot = new Snapshot(
            [.. options.Value.Replicas.Select(r => new ReplicaState(r, false, ImmutableHashSet<ModelVersionKey>.Empty))],
            ImmutableDictionary<string, IReadOnlyDictionary<string, long>>.Empty,
            ImmutableDictionary<string, DeploymentView>.Empty,
            ImmutableDictionary<string, long>.Empty);
    }

    /// <summary>Replicas with their last known state, in configuration order.</summary>
    public IReadOnlyList<ReplicaState> Replicas => _snapshot.Replicas;

    /// <summary>True when at least one replica answers and has a version ready.</summary>
    public bool AnyReplicaReady => _snapshot.Replicas.Any(r => r.Live && r.Ready.Count > 0);

    /// <summary>Records a replica's answer; returns true when it was out before or its ready set changed.</summary>
    public bool ReportReplicaUp(string name, IEnumerable<ModelVersionKey> ready)
    {
        var set = ready.ToImmutableHashSet();
        return Replace(name, r => r with { Live = true, Ready = set });
    }

    /// <summary>Takes a replica out until it answers again; returns true when it was in before.</summary>
    public bool ReportReplicaDown(string name) =>
        Replace(name, r => r with { Live = false, Ready = ImmutableHashSet<ModelVersionKey>.Empty });

    /// <summary>
    /// Passive health check: a forward to the replica failed at the connection, so it is taken out at
    /// once instead of at the next poll; the next poll it answers puts it back. Returns true when it
    /// was in before (an unknown name, e.g. a member that left the pool meanwhile, is ignored).
    /// </summary>
    public bool EjectReplica(string name)
    {
        lock (_writeGate)
        {
            return IndexOf(_snapshot.Replicas, name) >= 0 && ReportReplicaDown(name);
        }
    }

    /// <summary>
    /// Sets the replicas that exist now (static ones and those a DNS name resolves to). A replica that
    /// stays keeps its state; a new one starts out until it answers a poll; one that left is dropped.
    /// Returns true when the membership changed.
    /// </summary>
    public bool SetMembers(IReadOnlyList<ReplicaOptions> members)
    {
        lock (_writeGate)
        {
            var before = _snapshot.Replicas;
            var builder = ImmutableArray.CreateBuilder<ReplicaState>(members.Count);
            var changed = before.Length != members.Count;
            foreach (var member in members)
            {
                var index = IndexOf(before, member.Name);
                if (index >= 0 && SameEndpoints(before[index].Replica, member))
                {
                    builder.Add(before[index]);
                }
                else
                {
                    builder.Add(new ReplicaState(member, false, ImmutableHashSet<ModelVersionKey>.Empty));
                    changed = true;
                }
            }
            if (changed)
            {
                _snapshot = _snapshot with { Replicas = builder.MoveToImmutable() };
            }
            return changed;
        }
    }

    private static bool SameEndpoints(ReplicaOptions a, ReplicaOptions b) =>
        a.GrpcAddress == b.GrpcAddress && a.RestAddress == b.RestAddress && a.Pool == b.Pool;

    private static int IndexOf(ImmutableArray<ReplicaState> replicas, string name)
    {
        for (var i = 0; i < replicas.Length; i++)
        {
            if (replicas[i].Replica.Name == name)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// Replaces the registry's view: model name to its aliases (alias to version) and, when given, to
    /// its latest registered version (so a pinned version beyond it is NotFound, not Unavailable).
    /// </summary>
    public void ReportRegistry(IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> aliasesByModel,
        IReadOnlyDictionary<string, long>? latestVersionByModel = null)
    {
        lock (_writeGate)
        {
            _snapshot = _snapshot with
            {
                Aliases = aliasesByModel,
                LatestVersions = latestVersionByModel ?? ImmutableDictionary<string, long>.Empty,
            };
        }
    }

    /// <summary>Replaces the registry's deployments: model name to its current deployment.</summary>
    public void ReportDeployments(IReadOnlyDictionary<string, DeploymentView> deploymentsByModel)
    {
        lock (_writeGate)
        {
            _snapshot = _snapshot with { Deployments = deploymentsByModel };
        }
    }

    /// <summary>The deployments last seen (kept for a model whose deployment could not be read this poll).</summary>
    public IReadOnlyDictionary<string, DeploymentView> Deployments => _snapshot.Deployments;

    /// <summary>True when the registry or a live replica knows the model (metrics label unknown ones alike).</summary>
    public bool IsKnownModel(string model)
    {
        var snapshot = _snapshot;
        return snapshot.Aliases.ContainsKey(model) || snapshot.Replicas.Any(r => r.Live && r.Ready.Any(k => k.Model == model));
    }

    /// <summary>
    /// Maps a request's (model, version) to replicas: empty follows the model's deployment weights
    /// (without a deployment: the production alias or, before there is one, the newest version ready
    /// anywhere), a number pins that version, any other string is an alias from the registry.
    /// <paramref name="routeKey"/>, when given, makes the weighted pick the same for the same key.
    /// </summary>
    public RouteResult Resolve(string model, string version, string? routeKey = null)
    {
        var snapshot = _snapshot;
        snapshot.Aliases.TryGetValue(model, out var aliases);
        var knownToReplicas = snapshot.Replicas.Any(r => r.Live && r.Ready.Any(k => k.Model == model));
        var deployed = snapshot.Deployments.TryGetValue(model, out var deployment) && deployment.Entries.Count > 0;
        if (aliases is null && !knownToReplicas && !deployed)
        {
            return RouteResult.NotFound(model, $"model '{model}' is unknown");
        }

        long target;
        var pool = "";
        bool resolvedByGateway;
        if (version.Length == 0)
        {
            resolvedByGateway = true;
            if (deployed)
            {
                if (PickWeighted(snapshot, model, deployment!, routeKey) is not { } picked)
                {
                    return RouteResult.Unavailable(model,
                        $"model '{model}' has no deployed version ready: {DescribeDeployment(deployment!)}");
                }
                (target, pool) = (picked.Version, picked.Pool);
            }
            else if (aliases is not null && aliases.TryGetValue(ProductionAlias, out var production))
            {
                target = production;
            }
            else if (knownToReplicas)
            {
                target = snapshot.Replicas.Where(r => r.Live).SelectMany(r => r.Ready).Where(k => k.Model == model).Max(k => k.Version);
            }
            else
            {
                return RouteResult.Unavailable(model, $"model '{model}' has no version ready on any replica");
            }
        }
        else if (long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var pinned))
        {
            if (pinned == 0 || (snapshot.LatestVersions.TryGetValue(model, out var latest) && pinned > latest
                && !snapshot.Replicas.Any(r => r.Live && r.Ready.Contains(new ModelVersionKey(model, pinned)))))
            {
                return RouteResult.NotFound(model, $"model '{model}' has no version {pinned.ToString(CultureInfo.InvariantCulture)}");
            }
            resolvedByGateway = false;
            target = pinned;
        }
        else if (aliases is not null && aliases.TryGetValue(version, out var aliased))
        {
            resolvedByGateway = true;
            target = aliased;
        }
        else
        {
            return RouteResult.NotFound(model, $"model '{model}' has no alias '{version}'");
        }

        var key = new ModelVersionKey(model, target);
        var candidates = snapshot.Replicas.Where(r => Serves(r, key, pool)).Select(r => r.Replica).ToArray();
        if (candidates.Length == 0)
        {
            var shown = resolvedByGateway ? target.ToString(CultureInfo.InvariantCulture) : version;
            var where = pool.Length == 0 ? "any replica" : $"any replica of pool '{pool}'";
            return RouteResult.Unavailable(model, $"model '{model}' version '{shown}' is not ready on {where}");
        }
        return new RouteResult(RouteOutcome.Found, model, target, resolvedByGateway,
            Rotate(candidates, _cursors.GetOrAdd(new PoolKey(key, pool), _ => new Cursor())), "");
    }

    /// <summary>A live replica that reports the version ready, in the pool when one is named.</summary>
    private static bool Serves(ReplicaState replica, ModelVersionKey key, string pool) =>
        replica.Live && replica.Ready.Contains(key) && (pool.Length == 0 || replica.Replica.Pool == pool);

    private static string DescribeDeployment(DeploymentView deployment) => string.Join(", ",
        deployment.Entries.Select(e => e.Pool.Length == 0
            ? $"version {e.Version.ToString(CultureInfo.InvariantCulture)}"
            : $"version {e.Version.ToString(CultureInfo.InvariantCulture)} on pool '{e.Pool}'")) + " (none is ready on a live replica)";

    /// <summary>
    /// Draws an entry by weight among the deployment's entries READY on some live replica of their
    /// pool; the weight of an entry that is not ready is spread over the others by drawing only among
    /// them. A route key maps to a fixed point of the weight range, so it keeps its version while the
    /// deployment and the ready set stay the same.
    /// </summary>
    private static WeightedVersion? PickWeighted(Snapshot snapshot, string model, DeploymentView deployment, string? routeKey)
    {
        Span<int> ready = stackalloc int[deployment.Entries.Count];
        var count = 0;
        var total = 0;
        for (var e = 0; e < deployment.Entries.Count; e++)
        {
            var entry = deployment.Entries[e];
            var key = new ModelVersionKey(model, entry.Version);
            if (entry.Weight > 0 && snapshot.Replicas.Any(r => Serves(r, key, entry.Pool)))
            {
                ready[count++] = e;
                total += entry.Weight;
            }
        }
        if (count == 0)
        {
            return null;
        }
        var point = routeKey is null ? Random.Shared.Next(total) : (int)(StableHash(routeKey) % (uint)total);
        for (var i = 0; i < count; i++)
        {
            point -= deployment.Entries[ready[i]].Weight;
            if (point < 0)
            {
                return deployment.Entries[ready[i]];
            }
        }
        return deployment.Entries[ready[count - 1]];
    }

    /// <summary>FNV-1a over the key's UTF-16 units: the same on every process, unlike string.GetHashCode.</summary>
    private static uint StableHash(string key)
    {
        var hash = 2166136261u;
        foreach (var c in key)
        {
            hash = (hash ^ c) * 16777619u;
        }
        // Mix the high bits down so that keys differing only at the end spread over the whole range.
        hash ^= hash >> 15;
        hash *= 0x2c1b3c6du;
        hash ^= hash >> 12;
        return hash;
    }

    /// <summary>Replicas that answered their last poll, round-robin first (for server-level calls).</summary>
    public IReadOnlyList<ReplicaOptions> LiveReplicas()
    {
        var live = _snapshot.Replicas.Where(r => r.Live).Select(r => r.Replica).ToArray();
        return live.Length == 0 ? live : Rotate(live, _anyCursor);
    }

    private static ReplicaOptions[] Rotate(ReplicaOptions[] candidates, Cursor cursor)
    {
        var start = (int)((uint)Interlocked.Increment(ref cursor.Value) % (uint)candidates.Length);
        if (start == 0)
        {
            return candidates;
        }
        var rotated = new ReplicaOptions[candidates.Length];
        for (var i = 0; i < candidates.Length; i++)
        {
            rotated[i] = candidates[(start + i) % candidates.Length];
        }
        return rotated;
    }

    private bool Replace(string name, Func<ReplicaState, ReplicaState> change)
    {
        lock (_writeGate)
        {
            var replicas = _snapshot.Replicas;
            var index = IndexOf(replicas, name);
            if (index < 0)
            {
                return false; // It left the membership (DNS) while its poll was in flight.
            }
            var before = replicas[index];
            var after = change(before);
            _snapshot = _snapshot with { Replicas = replicas.SetItem(index, after) };
            return before.Live != after.Live || !before.Ready.SetEquals(after.Ready);
        }
    }

    private sealed record Snapshot(
        ImmutableArray<ReplicaState> Replicas,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> Aliases,
        IReadOnlyDictionary<string, DeploymentView> Deployments,
        IReadOnlyDictionary<string, long> LatestVersions);

    /// <summary>Round-robin position per version and pool (empty pool = all pools).</summary>
    private readonly record struct PoolKey(ModelVersionKey Version, string Pool);

    private sealed class Cursor
    {
        public int Value = -1;
    }
}
