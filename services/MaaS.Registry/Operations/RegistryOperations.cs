using System.Security.Cryptography;
using System.Text;
using MaaS.Registry.Datasets;
using MaaS.Registry.Storage;
using MaaS.Registry.V1;
using MaaS.Registry.Validation;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Data;
using MaaS.ServiceDefaults.Outbox;
using Microsoft.Extensions.Options;

namespace MaaS.Registry.Operations;

/// <summary>
/// Every change the registry makes, validated the same way whoever asks: the gRPC service delegates its
/// writing rpcs here, and the market installs models through the same methods (the "seams" in the README).
/// Refusals are <see cref="Grpc.Core.RpcException"/>s with the status and sentence the rpc would answer.
/// </summary>
public sealed partial class RegistryOperations(
    ModelStore models,
    DatasetStore datasets,
    DeploymentStore deployments,
    IBlobStore blobs,
    BlobCommitter committer,
    OutboxSignal outbox,
    IOptions<RegistryOptions> options,
    ILogger<RegistryOperations> logger)
{
    /// <summary>The alias Rollback and GetServingVersion use when none is named.</summary>
    public const string DefaultAlias = "production";

    /// <summary>Creates a model (AlreadyExists when taken, unless <c>if_absent</c>); returns it and whether this call created it.</summary>
    public async Task<(Model Model, bool Created)> CreateModelAsync(CreateModelRequest request, CancellationToken cancellationToken)
    {
        RequestRules.Name("name", request.Name);
        RequestRules.MaxUtf8Bytes("description", request.Description, RequestRules.MaxDescriptionBytes);
        RequestRules.MaxLength("task", request.Task, RequestRules.MaxShortTextLength);
        RequestRules.MaxLength("owner", request.Owner, RequestRules.MaxShortTextLength);
        RequestRules.Tags("tags", request.Tags);
        var (model, created) = await models.CreateModelAsync(request.Name, request.Description, request.Task, request.Owner,
            request.Tags, request.IfAbsent, cancellationToken);
        if (created)
        {
            outbox.Notify();
            LogModelCreated(logger, model.Name, model.Owner);
        }
        return (model, created);
    }

    /// <summary>Seam: creates the model if absent, else returns the existing one unchanged.</summary>
    public async Task<Model> EnsureModelAsync(CreateModelRequest request, CancellationToken cancellationToken)
    {
        var ifAbsent = request.Clone();
        ifAbsent.IfAbsent = true;
        return (await CreateModelAsync(ifAbsent, cancellationToken)).Model;
    }

    /// <summary>Seam: registers a version from bytes; an empty <c>manifest.artifact_digest</c> is filled with their sha256.</summary>
    public Task<ModelVersion> RegisterVersionAsync(VersionManifest manifest, ReadOnlyMemory<byte> artifact, CancellationToken cancellationToken)
    {
        if (manifest.ArtifactDigest.Length == 0)
        {
            manifest = manifest.Clone();
            manifest.ArtifactDigest = Convert.ToHexStringLower(SHA256.HashData(artifact.Span));
        }
        return RegisterVersionAsync(manifest, (upload, ct) => upload.WriteAsync(artifact, ct).AsTask(), cancellationToken);
    }

    /// <summary>
    /// Registers a version whose artifact <paramref name="receive"/> writes into the upload (the gRPC stream's
    /// chunks, or bytes): validated manifest, existing model, size limit, declared digest = computed digest,
    /// then blob and metadata committed together.
    /// </summary>
    public async Task<ModelVersion> RegisterVersionAsync(VersionManifest manifest, Func<IBlobUpload, CancellationToken, Task> receive,
        CancellationToken cancellationToken)
    {
        RequestRules.Manifest(manifest);
        // Checked before the upload so an unknown model costs no transfer; checked again in the transaction.
        if (!await models.ModelExistsAsync(manifest.ModelName, cancellationToken))
        {
            throw MeshErrors.NotFound($"Model '{manifest.ModelName}' does not exist; create it before registering versions.");
        }
        await using var upload = blobs.BeginUpload(options.Value.MaxArtifactBytes);
        await ReceiveAsync(upload, receive, "artifact", "Registry:MaxArtifactBytes", cancellationToken);
        if (upload.Length == 0)
        {
            throw MeshErrors.InvalidArgument("The artifact is empty; send its bytes as chunk messages after the manifest.");
        }
        try
        {
            await upload.CompleteAsync(manifest.ArtifactDigest, cancellationToken);
        }
        catch (BlobDigestMismatchException ex)
        {
            LogDigestMismatch(logger, manifest.ModelName, ex.Declared, ex.Computed);
            throw MeshErrors.InvalidArgument(
                $"manifest.artifact_digest {ex.Declared} does not match the sha256 of the {upload.Length} bytes received, {ex.Computed}; nothing was registered.");
        }
        var version = await committer.CommitAsync(upload, (blob, ct) => models.InsertVersionAsync(manifest, blob, ct));
        outbox.Notify();
        LogVersionRegistered(logger, version.ModelName, version.Version, version.ArtifactDigest, version.ArtifactSize);
        Telemetry.RegistryMetrics.VersionRegistered(version.ModelName);
        return version;
    }

    /// <summary>Stores a CSV or Parquet dataset version that <paramref name="receive"/> writes, as-is, with its format, schema and column statistics.</summary>
    public async Task<DatasetVersion> UploadDatasetAsync(DatasetManifest manifest, Func<IBlobUpload, CancellationToken, Task> receive,
        CancellationToken cancellationToken)
    {
        RequestRules.Name("manifest.name", manifest.Name);
        var format = DatasetFormats.Resolve(manifest.Format) ?? throw MeshErrors.InvalidArgument(
            $"manifest.format must be one of {string.Join(", ", DatasetFormats.All.Select(f => $"'{f}'"))} (or empty, meaning csv); it is '{manifest.Format}'.");
        RequestRules.MaxUtf8Bytes("manifest.description", manifest.Description, RequestRules.MaxDescriptionBytes);
        if (manifest.Digest.Length > 0)
        {
            RequestRules.Digest("manifest.digest", manifest.Digest);
        }
        await using var upload = blobs.BeginUpload(options.Value.MaxDatasetBytes);
        await ReceiveAsync(upload, receive, "dataset", "Registry:MaxDatasetBytes", cancellationToken);
        if (upload.Length == 0)
        {
            throw MeshErrors.InvalidArgument($"The dataset is empty; send the {DatasetFormats.Label(format)} file as chunk messages after the manifest.");
        }
        try
        {
            await upload.CompleteAsync(manifest.Digest.Length > 0 ? manifest.Digest : null, cancellationToken);
        }
        catch (BlobDigestMismatchException ex)
        {
            throw MeshErrors.InvalidArgument(
                $"manifest.digest {ex.Declared} does not match the sha256 of the {upload.Length} bytes received, {ex.Computed}; nothing was stored.");
        }
        var table = await ParseAsync(upload, format, cancellationToken);
        var profile = DatasetProfile.Of(table);
        var dataset = await committer.CommitAsync(upload, (blob, ct) =>
            datasets.InsertAsync(manifest.Name, format, manifest.Description, blob, table.Rows.Count, table.Columns, profile, ct));
        outbox.Notify();
        LogDatasetUploaded(logger, dataset.Name, dataset.Version, dataset.RowCount, dataset.Digest);
        return dataset;
    }

    /// <summary>Seam: points an alias at a ready version (no-op when it already points there).</summary>
    public async Task<SetAliasResponse> SetAliasAsync(SetAliasRequest request, CancellationToken cancellationToken)
    {
        RequestRules.Name("model_name", request.ModelName);
        RequestRules.Name("alias", request.Alias);
        RequestRules.Version("version", request.Version, 1);
        ActorAndReason(request.Actor, request.Reason);
        var change = await models.SetAliasAsync(request.ModelName, request.Alias, request.Version, request.Actor, request.Reason,
            cancellationToken);
        if (change.Moved)
        {
            outbox.Notify();
            LogAliasMoved(logger, request.ModelName, request.Alias, change.PreviousVersion, request.Version, request.Actor, request.Reason);
            Telemetry.RegistryMetrics.AliasMoved(request.ModelName, request.Alias);
        }
        return new SetAliasResponse
        {
            ModelName = request.ModelName,
            Alias = request.Alias,
            Version = request.Version,
            PreviousVersion = change.PreviousVersion,
        };
    }

    /// <summary>Removes an alias; NotFound when the model has no such alias.</summary>
    public async Task<DeleteAliasResponse> DeleteAliasAsync(DeleteAliasRequest request, CancellationToken cancellationToken)
    {
        RequestRules.Name("model_name", request.ModelName);
        RequestRules.Name("alias", request.Alias);
        ActorAndReason(request.Actor, request.Reason);
        var previous = await models.DeleteAliasAsync(request.ModelName, request.Alias, request.Actor, request.Reason, cancellationToken);
        outbox.Notify();
        LogAliasDeleted(logger, request.ModelName, request.Alias, previous, request.Actor, request.Reason);
        return new DeleteAliasResponse { ModelName = request.ModelName, Alias = request.Alias, PreviousVersion = previous };
    }

    /// <summary>Moves an alias (default production) back to its previous target; FailedPrecondition when there is none.</summary>
    public async Task<RollbackResponse> RollbackAsync(RollbackRequest request, CancellationToken cancellationToken)
    {
        RequestRules.Name("model_name", request.ModelName);
        var alias = request.Alias.Length == 0 ? DefaultAlias : request.Alias;
        RequestRules.Name("alias", alias);
        ActorAndReason(request.Actor, request.Reason);
        var change = await models.RollbackAsync(request.ModelName, alias, request.Actor, request.Reason, cancellationToken);
        if (alias == DefaultAlias)
        {
            await FollowProductionAsync(request.ModelName, change.PreviousVersion, change.Version, request.Actor, request.Reason, cancellationToken);
        }
        outbox.Notify();
        LogRolledBack(logger, request.ModelName, alias, change.PreviousVersion, change.Version, request.Actor, request.Reason);
        Telemetry.RegistryMetrics.AliasMoved(request.ModelName, alias);
        return new RollbackResponse
        {
            ModelName = request.ModelName,
            Alias = alias,
            Version = change.Version,
            PreviousVersion = change.PreviousVersion,
        };
    }

    /// <summary>
    /// A deployment wins over the production alias for unpinned calls, so when the deployment sends all traffic to the
    /// version production just left, it follows the rollback (a new revision, same pool, no shadow); a split over
    /// several versions is the operator's and stays as it is.
    /// </summary>
    private async Task FollowProductionAsync(string model, long from, long to, string actor, string reason, CancellationToken cancellationToken)
    {
        var current = await deployments.GetAsync(model, cancellationToken);
        if (current.Entries.Count == 0 || current.Entries.Any(e => e.Version != from))
        {
            return;
        }
        var entries = new[] { new DeploymentEntry { Version = to, Pool = current.Entries[0].Pool, Weight = 100 } };
        var (deployment, changed) = await deployments.SetAsync(model, entries, null, actor, $"rollback of production: {reason}", 0, cancellationToken);
        if (changed)
        {
            Telemetry.RegistryMetrics.DeploymentChanged(model);
            LogDeploymentChanged(logger, model, deployment.Revision, $"v{to}@{entries[0].Pool}:100%", "none", actor);
        }
    }

    /// <summary>Seam: replaces a model's deployment with a new revision (no-op when equal to the current one).</summary>
    public async Task<SetDeploymentResponse> SetDeploymentAsync(SetDeploymentRequest request, CancellationToken cancellationToken)
    {
        RequestRules.Name("model_name", request.ModelName);
        RequestRules.Deployment(request.Entries, request.Shadow, options.Value.Pools);
        RequestRules.Version("expected_revision", request.ExpectedRevision, 0);
        ActorAndReason(request.Actor, request.Reason);
        var (deployment, changed) = await deployments.SetAsync(request.ModelName, request.Entries, request.Shadow, request.Actor,
            request.Reason, request.ExpectedRevision, cancellationToken);
        if (changed)
        {
            outbox.Notify();
            Telemetry.RegistryMetrics.DeploymentChanged(deployment.ModelName);
            LogDeploymentChanged(logger, deployment.ModelName, deployment.Revision,
                string.Join(", ", deployment.Entries.Select(e => $"v{e.Version}@{e.Pool}:{e.Weight}%")),
                deployment.Shadow is null ? "none" : $"v{deployment.Shadow.Version}:{deployment.Shadow.Percent}%", request.Actor);
        }
        return new SetDeploymentResponse { Deployment = deployment, Changed = changed };
    }

    /// <summary>Archives a version no alias or current deployment uses.</summary>
    public async Task<ArchiveVersionResponse> ArchiveVersionAsync(ArchiveVersionRequest request, CancellationToken cancellationToken)
    {
        RequestRules.Name("model_name", request.ModelName);
        RequestRules.Version("version", request.Version, 1);
        ActorAndReason(request.Actor, request.Reason);
        var (version, changed) = await models.ArchiveVersionAsync(request.ModelName, request.Version, request.Actor, request.Reason,
            cancellationToken);
        if (changed)
        {
            outbox.Notify();
            LogVersionArchived(logger, request.ModelName, request.Version, request.Actor, request.Reason);
        }
        return new ArchiveVersionResponse { Version = version };
    }

    /// <summary>Deletes a version no alias or current deployment uses, and its artifact when nothing else stores the bytes.</summary>
    public async Task<DeleteVersionResponse> DeleteVersionAsync(DeleteVersionRequest request, CancellationToken cancellationToken)
    {
        RequestRules.Name("model_name", request.ModelName);
        RequestRules.Version("version", request.Version, 1);
        ActorAndReason(request.Actor, request.Reason);
        var (deleted, blobDeleted) = await committer.DeleteAsync(
            ct => models.DeleteVersionAsync(request.ModelName, request.Version, request.Actor, request.Reason, ct),
            version => version.ArtifactDigest);
        outbox.Notify();
        LogVersionDeleted(logger, request.ModelName, request.Version, deleted.ArtifactDigest, blobDeleted, request.Actor, request.Reason);
        return new DeleteVersionResponse { ModelName = request.ModelName, Version = request.Version, ArtifactDeleted = blobDeleted };
    }

    private static void ActorAndReason(string actor, string reason)
    {
        RequestRules.MaxLength("actor", actor, RequestRules.MaxShortTextLength);
        RequestRules.MaxLength("reason", reason, RequestRules.MaxLongTextLength);
    }

    private static async Task ReceiveAsync(IBlobUpload upload, Func<IBlobUpload, CancellationToken, Task> receive, string what,
        string limitSetting, CancellationToken cancellationToken)
    {
        try
        {
            await receive(upload, cancellationToken);
        }
        catch (BlobTooLargeException ex)
        {
            throw MeshErrors.ResourceExhausted($"The {what} exceeds the limit of {ex.Limit} bytes ({limitSetting}); nothing was stored.");
        }
    }

    /// <summary>Parses the upload with the mesh's one dataset reader; its sentence is the caller's answer.</summary>
    private static async Task<NumericTable> ParseAsync(IBlobUpload upload, string format, CancellationToken cancellationToken)
    {
        try
        {
            await using var content = upload.OpenContent();
            return await DatasetFormats.ReadAsync(content, format, cancellationToken);
        }
        catch (FormatException ex)
        {
            throw MeshErrors.InvalidArgument($"The dataset is not a numeric {DatasetFormats.Label(format)} table: {ex.Message}");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} created (owner {Owner})")]
    private static partial void LogModelCreated(ILogger logger, string model, string owner);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} version {Version} registered: artifact {Digest}, {Size} bytes")]
    private static partial void LogVersionRegistered(ILogger logger, string model, long version, string digest, long size);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} registration refused: declared digest {Declared}, received {Computed}")]
    private static partial void LogDigestMismatch(ILogger logger, string model, string declared, string computed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} alias {Alias} moved from {From} to {To} by {Actor}: {Reason}")]
    private static partial void LogAliasMoved(ILogger logger, string model, string alias, long from, long to, string actor, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} alias {Alias} (at {From}) deleted by {Actor}: {Reason}")]
    private static partial void LogAliasDeleted(ILogger logger, string model, string alias, long from, string actor, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} alias {Alias} rolled back from {From} to {To} by {Actor}: {Reason}")]
    private static partial void LogRolledBack(ILogger logger, string model, string alias, long from, long to, string actor, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} deployment revision {Revision}: {Entries}, shadow {Shadow}, by {Actor}")]
    private static partial void LogDeploymentChanged(ILogger logger, string model, long revision, string entries, string shadow, string actor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} version {Version} archived by {Actor}: {Reason}")]
    private static partial void LogVersionArchived(ILogger logger, string model, long version, string actor, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} version {Version} deleted (artifact {Digest} removed: {BlobDeleted}) by {Actor}: {Reason}")]
    private static partial void LogVersionDeleted(ILogger logger, string model, long version, string digest, bool blobDeleted, string actor, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dataset {Dataset} version {Version} stored: {Rows} rows, content {Digest}")]
    private static partial void LogDatasetUploaded(ILogger logger, string dataset, long version, long rows, string digest);
}
