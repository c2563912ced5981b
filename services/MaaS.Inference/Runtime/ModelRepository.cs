using System.Collections.Immutable;
using System.Security.Cryptography;
using Grpc.Core;
using MaaS.Onnx;
using MaaS.ServiceDefaults;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace MaaS.Inference.Runtime;

/// <summary>Where a model version stands on this replica.</summary>
public enum VersionState
{
    /// <summary>Being downloaded, verified, loaded or warmed up.</summary>
    Loading,
    /// <summary>Serving.</summary>
    Ready,
    /// <summary>Not served; the reason says why.</summary>
    Unavailable,
}

/// <summary>One model version as this replica knows it.</summary>
public sealed record VersionEntry(string Model, long Version, VersionState State, string Reason, LoadedModel? Loaded)
{
    /// <summary>The state as RepositoryIndex spells it.</summary>
    public string StateName => State switch
    {
        VersionState.Ready => "READY",
        VersionState.Loading => "LOADING",
        _ => "UNAVAILABLE",
    };
}

/// <summary>One model on this replica: its versions, the registry's production version, and whether an operator unloaded it.</summary>
public sealed record ModelEntry(string Name, ImmutableSortedDictionary<long, VersionEntry> Versions, long Production, bool UnloadedByRequest)
{
    /// <summary>An empty entry.</summary>
    public static ModelEntry Empty(string name) => new(name, ImmutableSortedDictionary<long, VersionEntry>.Empty, 0, false);

    /// <summary>
    /// Loaded from RepositoryModelLoad file overrides, not from the registry: the registry sync leaves the
    /// model alone (never prunes it) until RepositoryModelUnload.
    /// </summary>
    public bool Local { get; init; }

    /// <summary>The serving configuration a RepositoryModelLoad "config" set; null = the configured one.</summary>
    public ModelServingConfig? Config { get; init; }

    /// <summary>Whether the entry still says anything once it has no versions.</summary>
    internal bool IsBare => Versions.IsEmpty && Production == 0 && !UnloadedByRequest && !Local && Config is null;

    /// <summary>Ready versions, oldest first.</summary>
    public IEnumerable<VersionEntry> ReadyVersions => Versions.Values.Where(v => v.State == VersionState.Ready);
}

/// <summary>
/// The model versions this replica holds. Readers take an immutable snapshot without locking; writers
/// replace it under a lock. A version leaves the snapshot before its session is released, so a request
/// either holds a reference (and the session lives until it is done) or sees the next snapshot.
/// </summary>
public sealed partial class ModelRepository(OnnxSessionFactory sessions, IOptions<InferenceOptions> options, ILogger<ModelRepository> logger)
{
    /// <summary>Header the gateway sets to the version it resolved for an empty model_version.</summary>
    public const string ResolvedVersionHeader = "x-maas-resolved-version";

    private readonly Lock gate = new();
    private volatile ImmutableSortedDictionary<string, ModelEntry> models = ImmutableSortedDictionary.Create<string, ModelEntry>(StringComparer.Ordinal);
    private volatile bool synced;

    /// <summary>The models now, an immutable snapshot.</summary>
    public ImmutableSortedDictionary<string, ModelEntry> Models => models;

    /// <summary>True once a sync with the registry has succeeded.</summary>
    public bool IsReady => synced;

    /// <summary>Records a successful sync.</summary>
    public void MarkSynced() => synced = true;

    /// <summary>
    /// Raised after every change of a version's entry (LOADING, READY, UNAVAILABLE, removed = null Loaded
    /// and state Unavailable), outside the lock; readers see the new snapshot already.
    /// </summary>
    public event Action<VersionEntry>? StateChanged;

    /// <summary>How <paramref name="model"/> is served now: the config of its last RepositoryModelLoad, else configuration, else the default.</summary>
    public ModelServingConfig ConfigFor(string model) =>
        models.GetValueOrDefault(model)?.Config ?? options.Value.ConfigFor(model);

    /// <summary>
    /// Loads a version from its ONNX bytes: verifies the digest (when one is expected), creates the
    /// session, warms it up with a generated input, then lists it READY. A version already ready with the
    /// same batching is kept as it is (versions are immutable) unless <paramref name="replace"/>; otherwise
    /// the new instance is loaded beside it and swapped in once warm, the old one drained. Failures leave a
    /// new version UNAVAILABLE with the reason, and a version that was ready serving as before.
    /// </summary>
    /// <param name="batching">Dynamic batching of the loaded instance; null = the model's current config.</param>
    /// <param name="replace">Load even when the same version is ready with the same batching (new bytes for it).</param>
    public async Task<VersionEntry> LoadAsync(string model, long version, byte[] onnx, string? expectedDigest,
        CancellationToken cancellationToken = default, BatchingSettings? batching = null, bool replace = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        batching ??= ConfigFor(model).Batching;
        var serving = Find(model, version) is { State: VersionState.Ready } ready ? ready : null;
        if (serving is not null && !replace && serving.Loaded!.Batching.Equals(batching))
        {
            return serving;
        }
        if (serving is null)
        {
            // A version that serves stays listed READY while its replacement loads: ModelReady stays true, and truthful.
            Put(new VersionEntry(model, version, VersionState.Loading, "loading", null));
        }
        LogLoading(logger, model, version, onnx.Length);

        if (expectedDigest is not null)
        {
            var actual = Convert.ToHexStringLower(SHA256.HashData(onnx));
            if (!string.Equals(actual, expectedDigest, StringComparison.OrdinalIgnoreCase))
            {
                return Failed(model, version, serving, $"artifact digest mismatch: the registry says {expectedDigest} but the downloaded bytes hash to {actual}");
            }
        }

        OnnxSession? session = null;
        try
        {
            // Session creation and warm-up are CPU work of up to seconds; keep them off the caller's thread.
            var (created, signature) = await Task.Run(() =>
            {
                var s = sessions.Create(onnx);
                try
                {
                    var sig = ModelSignature.FromSession(s.Session);
                    WarmUp(s.Session, sig);
                    return (s, sig);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            }, cancellationToken);
            session = created;
            var loaded = new LoadedModel(model, version, created, signature, batching, onnx.Length);
            var entry = new VersionEntry(model, version, VersionState.Ready, $"ready on {created.Provider}; {batching}", loaded);
            Put(entry);
            LogReady(logger, model, version, created.Provider, batching.ToString());
            return entry;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            session?.Dispose();
            Failed(model, version, serving, "loading was cancelled");
            throw;
        }
        catch (Exception ex)
        {
            // Whatever goes wrong with one artifact must leave a reason in the index, not a replica stuck in LOADING.
            return Failed(model, version, serving, $"the model cannot be served: {FirstLine(ex.Message)}");
        }
    }

    /// <summary>A failed load: a new version is listed UNAVAILABLE; one that was serving keeps serving and the failure is only logged and returned.</summary>
    private VersionEntry Failed(string model, long version, VersionEntry? serving, string reason)
    {
        if (serving is null)
        {
            return Fail(model, version, reason);
        }
        LogReloadFailed(logger, model, version, reason);
        return new VersionEntry(model, version, VersionState.Unavailable, reason, null);
    }

    /// <summary>Lists a version UNAVAILABLE with a reason; a session it had is retired (drained, then disposed).</summary>
    public VersionEntry Fail(string model, long version, string reason)
    {
        var entry = new VersionEntry(model, version, VersionState.Unavailable, reason, null);
        Put(entry);
        LogUnavailable(logger, model, version, reason);
        return entry;
    }

    /// <summary>Marks a version this replica does not hold (without logging a failure); its session, if any, drains and goes.</summary>
    public void MarkNotHeld(string model, long version, string reason)
    {
        var before = Find(model, version);
        Put(new VersionEntry(model, version, VersionState.Unavailable, reason, null));
        if (before?.Loaded is not null)
        {
            LogRetired(logger, model, version, reason);
        }
    }

    /// <summary>Removes a version; requests still running on it finish before its session is disposed.</summary>
    public bool Remove(string model, long version)
    {
        VersionEntry? removed = null;
        lock (gate)
        {
            if (models.TryGetValue(model, out var entry) && entry.Versions.TryGetValue(version, out var v))
            {
                removed = v;
                var next = entry with { Versions = entry.Versions.Remove(version) };
                models = next.IsBare ? models.Remove(model) : models.SetItem(model, next);
            }
        }
        if (removed is null)
        {
            return false;
        }
        Changed(removed, removed with { State = VersionState.Unavailable, Reason = "removed", Loaded = null });
        if (removed.Loaded is not null)
        {
            LogRetired(logger, model, version, "removed");
            removed.Loaded.Retire();
        }
        return true;
    }

    /// <summary>Removes a model and every version of it (it left the registry).</summary>
    public void RemoveModel(string model)
    {
        ModelEntry? removed;
        lock (gate)
        {
            if (!models.TryGetValue(model, out removed))
            {
                return;
            }
            models = models.Remove(model);
        }
        foreach (var v in removed.Versions.Values)
        {
            Changed(v, v with { State = VersionState.Unavailable, Reason = "removed", Loaded = null });
            if (v.Loaded is not null)
            {
                LogRetired(logger, model, v.Version, "the model left the registry");
                v.Loaded.Retire();
            }
        }
    }

    /// <summary>Records the registry's production version (0 = none) and whether the model is unloaded by an operator.</summary>
    public void SetModelState(string model, long production, bool? unloadedByRequest = null)
    {
        lock (gate)
        {
            var entry = models.GetValueOrDefault(model) ?? ModelEntry.Empty(model);
            models = models.SetItem(model, entry with
            {
                Production = production,
                UnloadedByRequest = unloadedByRequest ?? entry.UnloadedByRequest,
            });
        }
    }

    /// <summary>
    /// Records how a model is served after a RepositoryModelLoad or Unload: its config (null = back to the
    /// configured one), whether it is local (from file overrides) and whether it is unloaded by request.
    /// </summary>
    public void SetServing(string model, ModelServingConfig? config, bool local, bool unloadedByRequest)
    {
        lock (gate)
        {
            var entry = models.GetValueOrDefault(model) ?? ModelEntry.Empty(model);
            var next = entry with { Config = config, Local = local, UnloadedByRequest = unloadedByRequest };
            models = next.IsBare ? models.Remove(model) : models.SetItem(model, next);
        }
    }

    /// <summary>A version entry, or null.</summary>
    public VersionEntry? Find(string model, long version) =>
        models.TryGetValue(model, out var entry) ? entry.Versions.GetValueOrDefault(version) : null;

    /// <summary>
    /// Takes a reference on the version a request names, or on the default one (the version the gateway
    /// resolved, else production, else the newest ready). Retries when a swap retires the version between
    /// the lookup and the reference, so a default-version request never falls into a swap.
    /// </summary>
    /// <exception cref="RpcException">NotFound, InvalidArgument or FailedPrecondition with a sentence.</exception>
    public VersionLease Acquire(string model, string? version, string? resolvedVersion)
    {
        for (var attempt = 0; attempt < 16; attempt++)
        {
            var (entry, error) = Resolve(model, version, resolvedVersion);
            if (entry is null)
            {
                throw error!;
            }
            if (entry.Loaded!.TryAcquire())
            {
                return new VersionLease(entry.Loaded);
            }
        }
        throw MeshErrors.Unavailable($"Model '{model}' is being swapped on this replica; retry the request.");
    }

    /// <summary>The ready version a request resolves to, or the status that says why there is none.</summary>
    public (VersionEntry? Entry, RpcException? Error) Resolve(string model, string? version, string? resolvedVersion)
    {
        if (string.IsNullOrEmpty(model))
        {
            return (null, MeshErrors.InvalidArgument("The model name is empty; name the model to use."));
        }
        var snapshot = models;
        if (!snapshot.TryGetValue(model, out var entry) || entry.Versions.IsEmpty)
        {
            return (null, MeshErrors.NotFound($"Model '{model}' is not served by this replica."));
        }
        // The gateway has already resolved an empty version or an alias (which a replica cannot
        // know) to a number, and says so in the header; it wins over the request's own field.
        if (!string.IsNullOrEmpty(resolvedVersion))
        {
            return Pick(entry, resolvedVersion, $"header {ResolvedVersionHeader}");
        }
        if (!string.IsNullOrEmpty(version))
        {
            return Pick(entry, version, "model_version");
        }
        if (entry.Production > 0 && entry.Versions.TryGetValue(entry.Production, out var production) && production.State == VersionState.Ready)
        {
            return (production, null);
        }
        var newest = entry.ReadyVersions.LastOrDefault();
        return newest is not null
            ? (newest, null)
            : (null, MeshErrors.FailedPrecondition($"Model '{model}' has no ready version on this replica yet."));
    }

    /// <summary>
    /// Statistics of the ready versions asked for: all models (empty name), every ready version of one
    /// model (empty version), or one version.
    /// </summary>
    /// <exception cref="RpcException">InvalidArgument, NotFound or FailedPrecondition with a sentence.</exception>
    public IReadOnlyList<StatisticsSnapshot> Statistics(string? model, string? version)
    {
        var snapshot = models;
        if (string.IsNullOrEmpty(model))
        {
            if (!string.IsNullOrEmpty(version))
            {
                throw MeshErrors.InvalidArgument($"version '{version}' is given without a model name; name the model, or leave both empty for all.");
            }
            return snapshot.Values.SelectMany(m => m.ReadyVersions).Select(v => v.Loaded!.Statistics.Snapshot()).ToList();
        }
        if (!snapshot.TryGetValue(model, out var entry))
        {
            throw MeshErrors.NotFound($"Model '{model}' is not served by this replica.");
        }
        if (string.IsNullOrEmpty(version))
        {
            return entry.ReadyVersions.Select(v => v.Loaded!.Statistics.Snapshot()).ToList();
        }
        var (picked, error) = Pick(entry, version, "version");
        return picked is null ? throw error! : [picked.Loaded!.Statistics.Snapshot()];
    }

    private static (VersionEntry?, RpcException?) Pick(ModelEntry entry, string text, string field)
    {
        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) || number < 1)
        {
            return (null, MeshErrors.InvalidArgument($"The {field} '{text}' is not a version number; versions are positive integers."));
        }
        if (!entry.Versions.TryGetValue(number, out var v))
        {
            return (null, MeshErrors.NotFound($"Model '{entry.Name}' version {number} is not served by this replica."));
        }
        return v.State == VersionState.Ready
            ? (v, null)
            : (null, MeshErrors.FailedPrecondition($"Model '{entry.Name}' version {number} is {v.StateName}: {v.Reason}."));
    }

    private void Put(VersionEntry entry)
    {
        LoadedModel? retired = null;
        VersionEntry? before;
        lock (gate)
        {
            var model = models.GetValueOrDefault(entry.Model) ?? ModelEntry.Empty(entry.Model);
            if (model.Versions.TryGetValue(entry.Version, out before) && before.Loaded is not null && !ReferenceEquals(before.Loaded, entry.Loaded))
            {
                retired = before.Loaded;
            }
            models = models.SetItem(entry.Model, model with { Versions = model.Versions.SetItem(entry.Version, entry) });
        }
        Changed(before, entry);
        // Released after the snapshot no longer lists it: new requests cannot find it, running ones keep it alive.
        retired?.Retire();
    }

    /// <summary>Keeps the loaded-versions gauge in step and tells the listeners.</summary>
    private void Changed(VersionEntry? before, VersionEntry after)
    {
        var version = after.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (after.State == VersionState.Ready)
        {
            InferenceMetrics.Loaded.WithLabels(after.Model, version).Set(1);
        }
        else if (before?.State == VersionState.Ready)
        {
            InferenceMetrics.Loaded.RemoveLabelled(after.Model, version);
        }
        StateChanged?.Invoke(after);
    }

    /// <summary>Runs the model once on zeros (dynamic dimensions = 1) so the first real request does not pay for lazy initialisation.</summary>
    private static void WarmUp(InferenceSession session, ModelSignature signature)
    {
        var inputs = new List<OrtValue>(signature.Inputs.Count);
        try
        {
            foreach (var input in signature.Inputs)
            {
                var shape = input.Shape.Select(d => d < 0 ? 1L : d).ToArray();
                if (input.Type.IsBytes)
                {
                    // String tensors start as empty strings: nothing to clear.
                    inputs.Add(OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape));
                    continue;
                }
                var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, input.Type.Element, shape);
                inputs.Add(value);
                value.GetTensorMutableRawData().Clear();
            }
            using var options = new RunOptions();
            using var outputs = session.Run(options, signature.Inputs.Select(i => i.Name).ToArray(), inputs,
                signature.Outputs.Select(o => o.Name).ToArray());
        }
        finally
        {
            foreach (var value in inputs)
            {
                value.Dispose();
            }
        }
    }

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();

    [LoggerMessage(Level = LogLevel.Information, Message = "Loading model {Model} version {Version} ({Bytes} bytes)")]
    private static partial void LogLoading(ILogger logger, string model, long version, int bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} version {Version} is ready on {Provider} ({Batching})")]
    private static partial void LogReady(ILogger logger, string model, long version, string provider, string batching);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reloading model {Model} version {Version} failed, the loaded instance keeps serving: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string model, long version, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} version {Version} is unavailable: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string model, long version, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} version {Version} retired ({Reason}); its session is disposed once running requests finish")]
    private static partial void LogRetired(ILogger logger, string model, long version, string reason);
}
