using Google.Protobuf;
using Grpc.Core;
using MaaS.Registry.Operations;
using MaaS.Registry.Storage;
using MaaS.Registry.V1;
using MaaS.Registry.Validation;
using MaaS.ServiceDefaults;

namespace MaaS.Registry.Services;

/// <summary>
/// The registry's gRPC API (maas.registry.v1.RegistryService). Reads go to the stores; every change goes
/// through <see cref="RegistryOperations"/>, which the market uses too.
/// </summary>
public sealed class RegistryGrpcService(
    RegistryOperations operations,
    ModelStore models,
    DatasetStore datasets,
    DeploymentStore deployments,
    IBlobStore blobs,
    TimeProvider clock) : RegistryService.RegistryServiceBase
{
    private const int DownloadChunkBytes = 64 * 1024;
    private const string ModelPages = "models", VersionPages = "versions", HistoryPages = "alias-history",
        DatasetPages = "datasets", DatasetVersionPages = "dataset-versions", DeploymentPages = "deployments";

    /// <inheritdoc />
    public override async Task<CreateModelResponse> CreateModel(CreateModelRequest request, ServerCallContext context) =>
        new() { Model = (await operations.CreateModelAsync(request, context.CancellationToken)).Model };

    /// <inheritdoc />
    public override async Task<GetModelResponse> GetModel(GetModelRequest request, ServerCallContext context)
    {
        RequestRules.Name("name", request.Name);
        var model = await models.GetModelAsync(request.Name, context.CancellationToken)
            ?? throw ModelNotFound(request.Name);
        return new GetModelResponse { Model = model };
    }

    /// <inheritdoc />
    public override async Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var page = await SearchAsync("", request.NamePrefix, request.Tag, request.Task, request.Alias, request.PageSize, request.PageToken,
            context.CancellationToken);
        var response = new ListModelsResponse { NextPageToken = NextToken(page, ModelPages, m => m.Name) };
        response.Models.AddRange(page.Items);
        return response;
    }

    /// <inheritdoc />
    public override async Task<SearchModelsResponse> SearchModels(SearchModelsRequest request, ServerCallContext context)
    {
        RequestRules.MaxLength("query", request.Query, RequestRules.MaxShortTextLength);
        var page = await SearchAsync(request.Query, request.NamePrefix, request.Tag, request.Task, request.Alias, request.PageSize,
            request.PageToken, context.CancellationToken);
        var response = new SearchModelsResponse { NextPageToken = NextToken(page, ModelPages, m => m.Name) };
        response.Models.AddRange(page.Items);
        return response;
    }

    /// <inheritdoc />
    public override async Task<RegisterVersionResponse> RegisterVersion(IAsyncStreamReader<RegisterVersionRequest> requestStream,
        ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        if (!await requestStream.MoveNext(cancellationToken)
            || requestStream.Current.PayloadCase != RegisterVersionRequest.PayloadOneofCase.Manifest)
        {
            throw MeshErrors.InvalidArgument("The first message of RegisterVersion must be the manifest; the artifact chunks follow it.");
        }
        var version = await operations.RegisterVersionAsync(requestStream.Current.Manifest,
            (upload, ct) => ReceiveChunksAsync(requestStream,
                r => r.PayloadCase == RegisterVersionRequest.PayloadOneofCase.Chunk ? r.Chunk : null, upload, ct),
            cancellationToken);
        return new RegisterVersionResponse { Version = version };
    }

    /// <inheritdoc />
    public override async Task<GetVersionResponse> GetVersion(GetVersionRequest request, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        RequestRules.Name("model_name", request.ModelName);
        RequestRules.Version("version", request.Version, 0);
        var number = request.Version;
        if (number == 0)
        {
            if (request.Alias.Length == 0)
            {
                throw MeshErrors.InvalidArgument("alias must be set when version is 0 (0 means: resolve the alias).");
            }
            RequestRules.Name("alias", request.Alias);
            await RequireModelAsync(request.ModelName, cancellationToken);
            number = await models.ResolveAliasAsync(request.ModelName, request.Alias, cancellationToken)
                ?? throw MeshErrors.NotFound($"Model '{request.ModelName}' has no alias '{request.Alias}'.");
        }
        return new GetVersionResponse { Version = await RequireVersionAsync(request.ModelName, number, cancellationToken) };
    }

    /// <inheritdoc />
    public override async Task<ListVersionsResponse> ListVersions(ListVersionsRequest request, ServerCallContext context)
    {
        RequestRules.Name("model_name", request.ModelName);
        var size = RequestRules.PageSize("page_size", request.PageSize);
        var after = PageTokens.DecodeNumber("page_token", request.PageToken, VersionPages, 0);
        await RequireModelAsync(request.ModelName, context.CancellationToken);
        var page = await models.ListVersionsAsync(request.ModelName, after, size, context.CancellationToken);
        var response = new ListVersionsResponse { NextPageToken = NextToken(page, VersionPages, v => v.Version) };
        response.Versions.AddRange(page.Items);
        return response;
    }

    /// <inheritdoc />
    public override async Task DownloadArtifact(DownloadArtifactRequest request, IServerStreamWriter<DownloadArtifactResponse> responseStream,
        ServerCallContext context)
    {
        RequestRules.Name("model_name", request.ModelName);
        RequestRules.Version("version", request.Version, 1);
        var version = await RequireVersionAsync(request.ModelName, request.Version, context.CancellationToken);
        await StreamBlobAsync(version.ArtifactDigest, version.ArtifactSize, responseStream,
            new DownloadArtifactResponse { Version = version }, chunk => new DownloadArtifactResponse { Chunk = chunk },
            context.CancellationToken);
    }

    /// <inheritdoc />
    public override Task<SetAliasResponse> SetAlias(SetAliasRequest request, ServerCallContext context) =>
        operations.SetAliasAsync(request, context.CancellationToken);

    /// <inheritdoc />
    public override Task<DeleteAliasResponse> DeleteAlias(DeleteAliasRequest request, ServerCallContext context) =>
        operations.DeleteAliasAsync(request, context.CancellationToken);

    /// <inheritdoc />
    public override async Task<GetAliasHistoryResponse> GetAliasHistory(GetAliasHistoryRequest request, ServerCallContext context)
    {
        RequestRules.Name("model_name", request.ModelName);
        RequestRules.OptionalName("alias", request.Alias);
        var size = RequestRules.PageSize("page_size", request.PageSize);
        var before = PageTokens.DecodeNumber("page_token", request.PageToken, HistoryPages, long.MaxValue);
        await RequireModelAsync(request.ModelName, context.CancellationToken);
        var page = await models.GetAliasHistoryAsync(request.ModelName, request.Alias, before, size, context.CancellationToken);
        var response = new GetAliasHistoryResponse { NextPageToken = NextToken(page, HistoryPages, e => e.Id) };
        response.Entries.AddRange(page.Items.Select(e => e.Entry));
        return response;
    }

    /// <inheritdoc />
    public override async Task<GetServingVersionResponse> GetServingVersion(GetServingVersionRequest request, ServerCallContext context)
    {
        RequestRules.Name("model_name", request.ModelName);
        var alias = request.Alias.Length == 0 ? RegistryOperations.DefaultAlias : request.Alias;
        RequestRules.Name("alias", alias);
        DateTimeOffset at;
        try
        {
            at = request.At is null ? clock.GetUtcNow() : request.At.ToDateTimeOffset();
        }
        catch (InvalidOperationException)
        {
            throw MeshErrors.InvalidArgument("at must be a valid timestamp between years 1 and 9999 with nanos 0-999999999.");
        }
        await RequireModelAsync(request.ModelName, context.CancellationToken);
        var change = await models.GetAliasChangeAtAsync(request.ModelName, alias, at, context.CancellationToken);
        return new GetServingVersionResponse
        {
            ModelName = request.ModelName,
            Alias = alias,
            Version = change?.ToVersion ?? 0,
            Since = change,
        };
    }

    /// <inheritdoc />
    public override Task<RollbackResponse> Rollback(RollbackRequest request, ServerCallContext context) =>
        operations.RollbackAsync(request, context.CancellationToken);

    /// <inheritdoc />
    public override async Task<UploadDatasetResponse> UploadDataset(IAsyncStreamReader<UploadDatasetRequest> requestStream,
        ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        if (!await requestStream.MoveNext(cancellationToken)
            || requestStream.Current.PayloadCase != UploadDatasetRequest.PayloadOneofCase.Manifest)
        {
            throw MeshErrors.InvalidArgument("The first message of UploadDataset must be the manifest; the file chunks follow it.");
        }
        var dataset = await operations.UploadDatasetAsync(requestStream.Current.Manifest,
            (upload, ct) => ReceiveChunksAsync(requestStream,
                r => r.PayloadCase == UploadDatasetRequest.PayloadOneofCase.Chunk ? r.Chunk : null, upload, ct),
            cancellationToken);
        return new UploadDatasetResponse { Dataset = dataset };
    }

    /// <inheritdoc />
    public override async Task<GetDatasetResponse> GetDataset(GetDatasetRequest request, ServerCallContext context)
    {
        RequestRules.Name("name", request.Name);
        RequestRules.Version("version", request.Version, 0);
        return new GetDatasetResponse { Dataset = await RequireDatasetAsync(request.Name, request.Version, context.CancellationToken) };
    }

    /// <inheritdoc />
    public override async Task DownloadDataset(DownloadDatasetRequest request, IServerStreamWriter<DownloadDatasetResponse> responseStream,
        ServerCallContext context)
    {
        RequestRules.Name("name", request.Name);
        RequestRules.Version("version", request.Version, 0);
        var dataset = await RequireDatasetAsync(request.Name, request.Version, context.CancellationToken);
        await StreamBlobAsync(dataset.Digest, dataset.Size, responseStream,
            new DownloadDatasetResponse { Dataset = dataset }, chunk => new DownloadDatasetResponse { Chunk = chunk },
            context.CancellationToken);
    }

    /// <inheritdoc />
    public override async Task<ListDatasetsResponse> ListDatasets(ListDatasetsRequest request, ServerCallContext context)
    {
        RequestRules.OptionalName("name", request.Name);
        RequestRules.NamePrefix("name_prefix", request.NamePrefix);
        var size = RequestRules.PageSize("page_size", request.PageSize);
        var response = new ListDatasetsResponse();
        if (request.Name.Length > 0)
        {
            if (request.NamePrefix.Length > 0)
            {
                throw MeshErrors.InvalidArgument("Set name (the versions of one dataset) or name_prefix (the latest version of many), not both.");
            }
            var after = PageTokens.DecodeNumber("page_token", request.PageToken, DatasetVersionPages, 0);
            var versions = await datasets.ListVersionsAsync(request.Name, after, size, context.CancellationToken);
            if (versions.Items.Count == 0 && after == 0)
            {
                throw MeshErrors.NotFound($"Dataset '{request.Name}' does not exist.");
            }
            response.Datasets.AddRange(versions.Items);
            response.NextPageToken = NextToken(versions, DatasetVersionPages, d => d.Version);
            return response;
        }
        var afterName = PageTokens.DecodeName("page_token", request.PageToken, DatasetPages);
        var latest = await datasets.ListLatestAsync(request.NamePrefix, afterName, size, context.CancellationToken);
        response.Datasets.AddRange(latest.Items);
        response.NextPageToken = NextToken(latest, DatasetPages, d => d.Name);
        return response;
    }

    /// <inheritdoc />
    public override async Task<GetDeploymentResponse> GetDeployment(GetDeploymentRequest request, ServerCallContext context)
    {
        RequestRules.Name("model_name", request.ModelName);
        return new GetDeploymentResponse { Deployment = await deployments.GetAsync(request.ModelName, context.CancellationToken) };
    }

    /// <inheritdoc />
    public override Task<SetDeploymentResponse> SetDeployment(SetDeploymentRequest request, ServerCallContext context) =>
        operations.SetDeploymentAsync(request, context.CancellationToken);

    /// <inheritdoc />
    public override async Task<GetDeploymentHistoryResponse> GetDeploymentHistory(GetDeploymentHistoryRequest request, ServerCallContext context)
    {
        RequestRules.Name("model_name", request.ModelName);
        var size = RequestRules.PageSize("page_size", request.PageSize);
        var before = PageTokens.DecodeNumber("page_token", request.PageToken, DeploymentPages, long.MaxValue);
        var page = await deployments.GetHistoryAsync(request.ModelName, before, size, context.CancellationToken);
        var response = new GetDeploymentHistoryResponse { NextPageToken = NextToken(page, DeploymentPages, d => d.Revision) };
        response.Deployments.AddRange(page.Items);
        return response;
    }

    /// <inheritdoc />
    public override Task<ArchiveVersionResponse> ArchiveVersion(ArchiveVersionRequest request, ServerCallContext context) =>
        operations.ArchiveVersionAsync(request, context.CancellationToken);

    /// <inheritdoc />
    public override Task<DeleteVersionResponse> DeleteVersion(DeleteVersionRequest request, ServerCallContext context) =>
        operations.DeleteVersionAsync(request, context.CancellationToken);

    private async Task<Storage.Data.Page<Model>> SearchAsync(string text, string prefix, string tag, string task, string alias, int pageSize,
        string pageToken, CancellationToken cancellationToken)
    {
        RequestRules.NamePrefix("name_prefix", prefix);
        RequestRules.OptionalName("tag", tag);
        RequestRules.MaxLength("task", task, RequestRules.MaxShortTextLength);
        RequestRules.OptionalName("alias", alias);
        var size = RequestRules.PageSize("page_size", pageSize);
        var after = PageTokens.DecodeName("page_token", pageToken, ModelPages);
        return await models.SearchModelsAsync(new ModelQuery(after, prefix, task, tag, alias, text, size), cancellationToken);
    }

    private static string NextToken<T>(Storage.Data.Page<T> page, string kind, Func<T, string> key) =>
        page.More ? PageTokens.Encode(kind, key(page.Items[^1])) : "";

    private static string NextToken<T>(Storage.Data.Page<T> page, string kind, Func<T, long> key) =>
        page.More ? PageTokens.Encode(kind, key(page.Items[^1])) : "";

    /// <summary>Copies the chunk messages after the manifest into the upload.</summary>
    private static async Task ReceiveChunksAsync<TRequest>(IAsyncStreamReader<TRequest> requestStream, Func<TRequest, ByteString?> chunkOf,
        IBlobUpload upload, CancellationToken cancellationToken)
    {
        while (await requestStream.MoveNext(cancellationToken))
        {
            var chunk = chunkOf(requestStream.Current)
                ?? throw MeshErrors.InvalidArgument("Only chunk messages may follow the manifest; the manifest is sent once, first.");
            await upload.WriteAsync(chunk.Memory, cancellationToken);
        }
    }

    /// <summary>Streams the metadata message, then the blob in 64 KiB chunks, verifying its digest as it goes.</summary>
    private async Task StreamBlobAsync<TResponse>(string digest, long size, IServerStreamWriter<TResponse> responseStream,
        TResponse first, Func<ByteString, TResponse> chunkMessage, CancellationToken cancellationToken)
    {
        try
        {
            // Opening checks presence and size, so a missing or truncated blob fails before anything is sent.
            await using var content = blobs.OpenRead(digest, size);
            await responseStream.WriteAsync(first, cancellationToken);
            var buffer = new byte[DownloadChunkBytes];
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await responseStream.WriteAsync(chunkMessage(ByteString.CopyFrom(buffer, 0, read)), cancellationToken);
            }
        }
        catch (BlobCorruptedException ex)
        {
            // A tampered blob found at the end still fails the call, so the caller never accepts the bytes.
            throw new RpcException(new Status(StatusCode.DataLoss, ex.Message));
        }
    }

    private async Task RequireModelAsync(string model, CancellationToken cancellationToken)
    {
        if (!await models.ModelExistsAsync(model, cancellationToken))
        {
            throw ModelNotFound(model);
        }
    }

    private async Task<ModelVersion> RequireVersionAsync(string model, long version, CancellationToken cancellationToken)
    {
        var found = await models.GetVersionAsync(model, version, cancellationToken);
        if (found is not null) return found;
        await RequireModelAsync(model, cancellationToken);
        throw MeshErrors.NotFound($"Model '{model}' has no version {version}.");
    }

    private async Task<DatasetVersion> RequireDatasetAsync(string name, long version, CancellationToken cancellationToken)
    {
        var found = await datasets.GetAsync(name, version, cancellationToken);
        if (found is not null) return found;
        if (version == 0 || await datasets.GetAsync(name, 0, cancellationToken) is null)
        {
            throw MeshErrors.NotFound($"Dataset '{name}' does not exist.");
        }
        throw MeshErrors.NotFound($"Dataset '{name}' has no version {version}.");
    }

    private static RpcException ModelNotFound(string model) => MeshErrors.NotFound($"Model '{model}' does not exist.");
}
