using MaaS.ServiceDefaults.Registry;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.ClientFactory;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace MaaS.Inference.Runtime;

/// <summary>
/// Keeps the repository in step with the registry: for each model, the version behind <c>production</c>,
/// the versions its deployment sends traffic to on this replica's pool (and its shadow version),
/// plus the newest <see cref="InferenceOptions.MaxVersionsPerModel"/> ready versions. Runs at start, every
/// <see cref="InferenceOptions.ResyncSeconds"/>, and at once when an event asks. New versions are loaded
/// and warm before old ones are retired; a registry that cannot be reached changes nothing.
/// </summary>
public sealed partial class RegistrySync(
    ModelRepository repository,
    GrpcClientFactory clients,
    IOptions<InferenceOptions> options,
    ILogger<RegistrySync> logger) : BackgroundService
{
    /// <summary>The alias whose target every replica holds.</summary>
    public const string ProductionAlias = "production";

    private static readonly TimeSpan ListDeadline = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DownloadDeadline = TimeSpan.FromMinutes(10);

    // Largest artifact taken; protobuf's own limit for one model file is 2 GiB.
    private const long MaxArtifactBytes = int.MaxValue;

    private readonly SemaphoreSlim running = new(1, 1);
    private readonly Channel<bool> wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    // A digest that failed verification or loading fails the same way every time: do not download it again.
    private readonly ConcurrentDictionary<(string Model, long Version), string> failedDigests = new();

    /// <summary>Asks for a sync as soon as possible (events call this; several requests fold into one sync).</summary>
    public void RequestSync() => wake.Writer.TryWrite(true);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromSeconds(options.Value.ResyncSeconds);
        LogStarting(logger, options.Value.ReplicaId, options.Value.Pool, options.Value.MaxVersionsPerModel, options.Value.ResyncSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SyncAllAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A sync must never take the replica down: what is loaded keeps serving.
                LogSyncFailed(logger, ex);
            }

            using var timer = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timer.CancelAfter(period);
            try
            {
                await wake.Reader.WaitToReadAsync(timer.Token);
                wake.Reader.TryRead(out _);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // The period elapsed.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One sync of every model; true when the registry answered for all of them.</summary>
    public async Task<bool> SyncAllAsync(CancellationToken cancellationToken)
    {
        await running.WaitAsync(cancellationToken);
        try
        {
            var client = Client();
            List<Model> listed;
            try
            {
                listed = await client.ListAllModelsAsync(ListDeadline, cancellationToken);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogRegistryUnreachable(logger, ex.StatusCode, ex.Status.Detail);
                return false;
            }

            var complete = true;
            foreach (var model in listed)
            {
                complete &= await SyncModelAsync(client, model, cancellationToken);
            }

            var known = listed.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in repository.Models.Values.Where(m => !known.Contains(m.Name) && !m.Local).Select(m => m.Name).ToList())
            {
                repository.RemoveModel(gone);
            }

            if (complete)
            {
                if (!repository.IsReady)
                {
                    LogFirstSync(logger, listed.Count);
                }
                repository.MarkSynced();
            }
            return complete;
        }
        finally
        {
            running.Release();
        }
    }

    /// <summary>
    /// RepositoryModelLoad. With <paramref name="files"/>: loads those versions from the given bytes, without
    /// the registry; the model becomes local (the sync leaves it alone) until RepositoryModelUnload, and once
    /// every file is READY the versions not among them retire. Without: syncs the model from the registry now
    /// (NotFound when the registry does not know it). Either way <paramref name="config"/> (null = the
    /// configured one) applies to the versions loaded, and an earlier unload is cleared.
    /// </summary>
    /// <exception cref="RpcException">NotFound, Unavailable, or InvalidArgument naming a file that did not load.</exception>
    public async Task LoadModelAsync(string name, ModelServingConfig? config, IReadOnlyList<ModelFile> files, CancellationToken cancellationToken)
    {
        if (files.Count > 0)
        {
            await running.WaitAsync(cancellationToken);
            try
            {
                await LoadFilesAsync(name, config, files, cancellationToken);
            }
            finally
            {
                running.Release();
            }
            return;
        }

        var existing = repository.Models.GetValueOrDefault(name);
        if (existing is { Local: true })
        {
            if (config is null || config.Equals(repository.ConfigFor(name)))
            {
                // Already loaded from files as asked: nothing to do.
                return;
            }
            throw MeshErrors.InvalidArgument(
                $"Model '{name}' was loaded from file overrides, whose bytes are not kept; send its files (file:<version>/model.onnx) again with the new config.");
        }

        var client = Client();
        Model model;
        try
        {
            model = (await client.GetModelAsync(new GetModelRequest { Name = name }, deadline: DateTime.UtcNow + ListDeadline, cancellationToken: cancellationToken)).Model;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            throw MeshErrors.NotFound($"Model '{name}' is not known to the registry (to load it from bytes, give file:<version>/model.onnx parameters).");
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw MeshErrors.Unavailable($"The registry cannot be reached to load model '{name}' ({ex.StatusCode}); retry later.");
        }

        await running.WaitAsync(cancellationToken);
        try
        {
            // As in Triton, a load without config goes back to the configured one.
            repository.SetServing(name, config, local: false, unloadedByRequest: false);
            repository.SetModelState(name, ProductionOf(model));
            if (!await SyncModelAsync(client, model, cancellationToken))
            {
                throw MeshErrors.Unavailable($"The registry stopped answering while model '{name}' was loading; retry later.");
            }
        }
        finally
        {
            running.Release();
        }
    }

    private async Task LoadFilesAsync(string name, ModelServingConfig? config, IReadOnlyList<ModelFile> files, CancellationToken cancellationToken)
    {
        // Local from now on, so that a sync cannot prune what is being loaded; what served keeps serving.
        repository.SetServing(name, config, local: true, unloadedByRequest: false);
        var batching = repository.ConfigFor(name).Batching;
        var failures = new List<string>();
        foreach (var file in files.OrderBy(f => f.Version))
        {
            // Always a fresh instance: the bytes may differ from those of a version with the same number.
            var entry = await repository.LoadAsync(name, file.Version, file.Onnx, expectedDigest: null, cancellationToken, batching, replace: true);
            if (entry.State != VersionState.Ready)
            {
                failures.Add($"{ModelFile.Key(file.Version)} ({entry.Reason})");
            }
        }
        if (failures.Count > 0)
        {
            throw MeshErrors.InvalidArgument(
                $"Model '{name}' could not load {string.Join("; ", failures)}; the versions that served before keep serving.");
        }
        var wanted = files.Select(f => f.Version).ToHashSet();
        foreach (var version in repository.Models.GetValueOrDefault(name)?.Versions.Keys ?? [])
        {
            if (!wanted.Contains(version))
            {
                repository.Remove(name, version);
            }
        }
    }

    /// <summary>RepositoryModelUnload: retires every version of a model on this replica until a RepositoryModelLoad; a local model stops being local.</summary>
    public async Task UnloadModelAsync(string name, CancellationToken cancellationToken)
    {
        await running.WaitAsync(cancellationToken);
        try
        {
            if (!repository.Models.TryGetValue(name, out var entry))
            {
                throw MeshErrors.NotFound($"Model '{name}' is not served by this replica.");
            }
            repository.SetServing(name, config: null, local: false, unloadedByRequest: true);
            foreach (var version in entry.Versions.Keys)
            {
                repository.MarkNotHeld(name, version, "unloaded by request; RepositoryModelLoad brings it back");
            }
        }
        finally
        {
            running.Release();
        }
    }

    private async Task<bool> SyncModelAsync(RegistryService.RegistryServiceClient client, Model model, CancellationToken cancellationToken)
    {
        var production = ProductionOf(model);
        var current = repository.Models.GetValueOrDefault(model.Name);
        if (current is { Local: true })
        {
            // Loaded from file overrides: the operator's until RepositoryModelUnload.
            return true;
        }
        if (current?.UnloadedByRequest == true)
        {
            repository.SetModelState(model.Name, production);
            return true;
        }

        IReadOnlyList<ModelVersion> versions;
        try
        {
            versions = await client.ListAllVersionsAsync(model.Name, ListDeadline, cancellationToken);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogListVersionsFailed(logger, model.Name, ex.StatusCode, ex.Status.Detail);
            return false;
        }

        var config = repository.ConfigFor(model.Name);
        var policy = config.VersionPolicy;
        var keep = new HashSet<long>();
        var interrupted = false;

        // Newest first; under latest:N a version that cannot be served is skipped so the replica still holds N servable ones.
        var candidates = versions.Where(v => v.Status == VersionStatus.Ready).OrderByDescending(v => v.Version)
            .Where(v => policy.Kind != VersionPolicyKind.Specific || policy.Specific.Contains(v.Version));
        foreach (var version in candidates)
        {
            if (policy.Kind == VersionPolicyKind.Latest && keep.Count == policy.Latest)
            {
                break;
            }
            switch (await EnsureLoadedAsync(client, version, config.Batching, cancellationToken))
            {
                case LoadOutcome.Ready: keep.Add(version.Version); break;
                case LoadOutcome.Interrupted: interrupted = true; break;
            }
        }
        // Production is held whatever the policy (even archived: it serves until the alias moves).
        var productionVersion = versions.FirstOrDefault(v => v.Version == production);
        if (productionVersion is not null && !keep.Contains(production))
        {
            switch (await EnsureLoadedAsync(client, productionVersion, config.Batching, cancellationToken))
            {
                case LoadOutcome.Ready: keep.Add(production); break;
                case LoadOutcome.Interrupted: interrupted = true; break;
            }
        }

        // Every version the model's deployment names (entries of this replica's pool, and the shadow) is held too, so a
        // canary or shadow version is loaded before the gateway sends it traffic (it skips versions no replica has ready).
        var deployed = await DeployedVersionsAsync(client, model.Name, cancellationToken);
        if (deployed is null)
        {
            // Unknown which versions are deployed: retire nothing this time.
            interrupted = true;
        }
        foreach (var version in versions.Where(v => deployed?.Contains(v.Version) == true && !keep.Contains(v.Version)))
        {
            switch (await EnsureLoadedAsync(client, version, config.Batching, cancellationToken))
            {
                case LoadOutcome.Ready: keep.Add(version.Version); break;
                case LoadOutcome.Interrupted: interrupted = true; break;
            }
        }

        // Production becomes the default only now, once its version is loaded: until then the former default keeps answering.
        repository.SetModelState(model.Name, production);

        if (interrupted)
        {
            // Some download failed on the way: keep every old version until a later sync completes the set.
            return true;
        }

        var registryVersions = versions.ToDictionary(v => v.Version);
        foreach (var entry in repository.Models.GetValueOrDefault(model.Name)?.Versions.Values ?? [])
        {
            if (keep.Contains(entry.Version))
            {
                continue;
            }
            if (!registryVersions.TryGetValue(entry.Version, out var registered))
            {
                repository.Remove(model.Name, entry.Version);
            }
            else if (entry.State != VersionState.Unavailable)
            {
                // Failed versions keep their own reason; held ones are retired (drained, then disposed).
                repository.MarkNotHeld(model.Name, entry.Version, registered.Status == VersionStatus.Ready
                    ? $"not held by this replica: neither production nor chosen by version policy {policy}"
                    : "archived in the registry");
            }
        }
        return true;
    }

    private enum LoadOutcome { Ready, Failed, Interrupted }

    private async Task<LoadOutcome> EnsureLoadedAsync(RegistryService.RegistryServiceClient client, ModelVersion version, BatchingSettings batching, CancellationToken cancellationToken)
    {
        var name = version.ModelName;
        // A version that serves keeps serving through a reload: whatever fails below, it is still held.
        var serving = repository.Find(name, version.Version) is { State: VersionState.Ready } ready ? ready : null;
        if (serving is not null && serving.Loaded!.Batching.Equals(batching))
        {
            return LoadOutcome.Ready;
        }
        if (serving is null && failedDigests.TryGetValue((name, version.Version), out var failed) && failed == version.ArtifactDigest)
        {
            return LoadOutcome.Failed;
        }

        byte[] artifact;
        try
        {
            artifact = await DownloadAsync(client, version, cancellationToken);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            if (serving is not null)
            {
                return LoadOutcome.Ready;
            }
            repository.Fail(name, version.Version, $"artifact download failed ({ex.StatusCode}: {ex.Status.Detail}); the next sync retries");
            return LoadOutcome.Interrupted;
        }
        catch (InvalidDataException ex)
        {
            failedDigests[(name, version.Version)] = version.ArtifactDigest;
            if (serving is not null)
            {
                return LoadOutcome.Ready;
            }
            repository.Fail(name, version.Version, ex.Message);
            return LoadOutcome.Failed;
        }

        var entry = await repository.LoadAsync(name, version.Version, artifact, version.ArtifactDigest, cancellationToken, batching);
        if (entry.State == VersionState.Ready || serving is not null)
        {
            return LoadOutcome.Ready;
        }
        failedDigests[(name, version.Version)] = version.ArtifactDigest;
        return LoadOutcome.Failed;
    }

    private static async Task<byte[]> DownloadAsync(RegistryService.RegistryServiceClient client, ModelVersion version, CancellationToken cancellationToken)
    {
        if (version.ArtifactSize < 0 || version.ArtifactSize > MaxArtifactBytes)
        {
            throw new InvalidDataException($"the registry gives an artifact size of {version.ArtifactSize} bytes; at most {MaxArtifactBytes} are taken");
        }
        using var call = client.DownloadArtifact(new DownloadArtifactRequest { ModelName = version.ModelName, Version = version.Version },
            deadline: DateTime.UtcNow + DownloadDeadline, cancellationToken: cancellationToken);
        using var buffer = new MemoryStream((int)version.ArtifactSize);
        await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            if (message.PayloadCase != DownloadArtifactResponse.PayloadOneofCase.Chunk)
            {
                continue;
            }
            if (buffer.Length + message.Chunk.Length > version.ArtifactSize)
            {
                throw new InvalidDataException($"the artifact is longer than the {version.ArtifactSize} bytes the registry lists");
            }
            buffer.Write(message.Chunk.Span);
        }
        if (buffer.Length != version.ArtifactSize)
        {
            throw new InvalidDataException($"the artifact has {buffer.Length} bytes but the registry lists {version.ArtifactSize}");
        }
        // Capacity was the exact size: hand over the buffer itself instead of a second copy.
        return buffer.Capacity == buffer.Length ? buffer.GetBuffer() : buffer.ToArray();
    }

    /// <summary>
    /// The versions the model's deployment names for this replica: entries of its pool and the shadow target. Empty when
    /// the model has no deployment or the registry keeps none (Unimplemented/NotFound); null when the registry did not answer.
    /// </summary>
    private async Task<HashSet<long>?> DeployedVersionsAsync(RegistryService.RegistryServiceClient client, string model, CancellationToken cancellationToken)
    {
        Deployment deployment;
        try
        {
            deployment = (await client.GetDeploymentAsync(new GetDeploymentRequest { ModelName = model },
                deadline: DateTime.UtcNow + ListDeadline, cancellationToken: cancellationToken)).Deployment;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unimplemented or StatusCode.NotFound)
        {
            return [];
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogDeploymentFailed(logger, model, ex.StatusCode, ex.Status.Detail);
            return null;
        }
        var pool = options.Value.Pool;
        var versions = new HashSet<long>();
        foreach (var entry in deployment?.Entries ?? [])
        {
            if (entry.Weight > 0 && (entry.Pool.Length == 0 || string.Equals(entry.Pool, pool, StringComparison.Ordinal))) versions.Add(entry.Version);
        }
        if (deployment?.Shadow is { Percent: > 0 } shadow) versions.Add(shadow.Version);
        return versions;
    }

    private static long ProductionOf(Model model) =>
        model.Aliases.TryGetValue(ProductionAlias, out var v) ? v : 0;

    private RegistryService.RegistryServiceClient Client() =>
        clients.CreateClient<RegistryService.RegistryServiceClient>(nameof(RegistryService.RegistryServiceClient));

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {ReplicaId} of pool {Pool} holds production plus, by default, the newest {MaxVersions} ready versions of each model; syncs every {ResyncSeconds} s and on events")]
    private static partial void LogStarting(ILogger logger, string replicaId, string pool, int maxVersions, int resyncSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The registry cannot be reached ({Status}: {Detail}); what is loaded keeps serving, the next sync retries")]
    private static partial void LogRegistryUnreachable(ILogger logger, StatusCode status, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listing the versions of model {Model} failed ({Status}: {Detail}); its loaded versions keep serving")]
    private static partial void LogListVersionsFailed(ILogger logger, string model, StatusCode status, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the deployment of model {Model} failed ({Status}: {Detail}); its loaded versions keep serving")]
    private static partial void LogDeploymentFailed(ILogger logger, string model, StatusCode status, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "First registry sync done ({Models} models); the replica is ready")]
    private static partial void LogFirstSync(ILogger logger, int models);

    [LoggerMessage(Level = LogLevel.Error, Message = "Registry sync failed; what is loaded keeps serving")]
    private static partial void LogSyncFailed(ILogger logger, Exception ex);
}
