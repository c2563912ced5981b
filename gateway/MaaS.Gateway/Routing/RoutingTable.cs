using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Routing;

/// <summary>A model version as replicas report it in RepositoryIndex.</summary>
public readonly record struct ModelVersionKey(string Model, long Version);

/// <summary>What the last poll learnt about one replica.</summary>
public sealed record ReplicaState(ReplicaOptions Replica, bool Live, IReadOnlySet<ModelVersionKey> Ready);

/// <summary>Whether a (model, version) could be mapped to replicas.</summary>
public enum RouteOutcome
{
    Found,
    NotFound,
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
    private readonly ConcurrentDictionary<ModelVersionKey, Cursor> _cursors = new();
    private readonly Cursor _anyCursor = new();
    private volatile Snapshot _snapshot;

    public RoutingTable(IOptions<GatewayOptions> options)
    {
        // Every replica starts out: it gets traffic only once it has answered a poll.
        _snapshot = new Snapshot(
            [.. options.Value.Replicas.Select(r => new ReplicaState(r, false, ImmutableHashSet<ModelVersionKey>.Empty))],
            ImmutableDictionary<string, IReadOnlyDictionary<string, long>>.Empty);
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

    /// <summary>Replaces the registry's view: model name to its aliases (alias to version).</summary>
    public void ReportRegistry(IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> aliasesByModel)
    {
        lock (_writeGate)
        {
            _snapshot = _snapshot with { Aliases = aliasesByModel };
        }
    }

    /// <summary>
    /// Maps a request's (model, version) to replicas: empty follows the production alias (or, before
    /// there is one, the newest version ready anywhere), a number pins that version, any other string
    /// is an alias from the registry.
    /// </summary>
    public RouteResult Resolve(string model, string version)
    {
        var snapshot = _snapshot;
        snapshot.Aliases.TryGetValue(model, out var aliases);
        var knownToReplicas = snapshot.Replicas.Any(r => r.Live && r.Ready.Any(k => k.Model == model));
        if (aliases is null && !knownToReplicas)
        {
            return RouteResult.NotFound(model, $"model '{model}' is unknown");
        }

        long target;
        bool resolvedByGateway;
        if (version.Length == 0)
        {
            resolvedByGateway = true;
            if (aliases is not null && aliases.TryGetValue(ProductionAlias, out var production))
            {
                target = production;
            }
            else if (knownToReplicas)
            {
                target = snapshot.Replicas.Where(r => r.Live).SelectMany(r => r.Ready).Where(k => k.Model == model).Max(k => k.Version);
            }
            else
            {
                return RouteResult.NotFound(model, $"model '{model}' has no version ready on any replica");
            }
        }
        else if (long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var pinned))
        {
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
        var candidates = snapshot.Replicas.Where(r => r.Live && r.Ready.Contains(key)).Select(r => r.Replica).ToArray();
        if (candidates.Length == 0)
        {
            var shown = resolvedByGateway ? target.ToString(CultureInfo.InvariantCulture) : version;
            return RouteResult.NotFound(model, $"model '{model}' version '{shown}' is not ready on any replica");
        }
        return new RouteResult(RouteOutcome.Found, model, target, resolvedByGateway,
            Rotate(candidates, _cursors.GetOrAdd(key, _ => new Cursor())), "");
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
            var index = -1;
            for (var i = 0; i < replicas.Length && index < 0; i++)
            {
                index = replicas[i].Replica.Name == name ? i : -1;
            }
            if (index < 0)
            {
                throw new ArgumentException($"No replica is named '{name}'.", nameof(name));
            }
            var before = replicas[index];
            var after = change(before);
            _snapshot = _snapshot with { Replicas = replicas.SetItem(index, after) };
            return before.Live != after.Live || !before.Ready.SetEquals(after.Ready);
        }
    }

    private sealed record Snapshot(
        ImmutableArray<ReplicaState> Replicas,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> Aliases);

    private sealed class Cursor
    {
        public int Value = -1;
    }
}
