using System.Text;
using Google.Protobuf;
using Grpc.Core;
using MaaS.Registry.Storage;
using MaaS.Registry.V1;
using MaaS.Registry.Validation;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Data;
using MaaS.ServiceDefaults.Outbox;
using Microsoft.Extensions.Options;

namespace MaaS.Registry.Services;

/// <summary>The registry's gRPC API (maas.registry.v1.RegistryService).</summary>
public sealed partial class RegistryGrpcService(
    ModelStore models,
    DatasetStore datasets,
    IBlobStore blobs,
    BlobCommitter committer,
    OutboxSignal outbox,
    IOptions<RegistryOptions> options,
    ILogger<RegistryGrpcService> logger) : RegistryService.RegistryServiceBase
{
    private const int DownloadChunkBytes = 64 * 1024;
    private const string CsvFormat = "csv";

    // Invalid UTF-8 must be refused, not silently turned into replacement characters.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <inheritdoc />
    public override async Task<CreateModelResponse> CreateModel(CreateModelRequest request, ServerCallContext context)
    {
        RequestRules.Name("name", request.Name);
        RequestRules.MaxLength("description", request.Description, RequestRules.MaxDescriptionLength);
        RequestRules.MaxLength("task", request.Task, RequestRules.MaxShortTextLength);
        var (model, created) = await models.CreateModelAsync(request.Name, request.Description, request.Task, request.IfAbsent,
            context.CancellationToken);
        if (created)
        {
            LogModelCreated(logger, model.Name);
        }
        return new CreateModelResponse { Model = model };
    }

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
        var response = new ListModelsResponse();
        response.Models.AddRange(await models.ListModelsAsync(context.CancellationToken));
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
        var manifest = requestStream.Current.Manifest;
        RequestRules.Manifest(manifest);
        // Checked before the upload so an unknown model costs no transfer; checked again in the transaction.
        if (!await models.ModelExistsAsync(manifest.ModelName, cancellationToken))
        {
            throw MeshErrors.NotFound($"Model '{manifest.ModelName}' does not exist; create it before registering versions.");
        }

        var limit = options.Value.MaxArtifactBytes;
        await using var upload = blobs.BeginUpload(limit);
        await ReceiveChunksAsync(requestStream, r => r.PayloadCase == RegisterVersionRequest.PayloadOneofCase.Chunk ? r.Chunk : null,
            upload, "artifact", "Registry:MaxArtifactBytes", cancellationToken);
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
        await RequireModelAsync(request.ModelName, context.CancellationToken);
        var response = new ListVersionsResponse();
        response.Versions.AddRange(await models.ListVersionsAsync(request.ModelName, context.CancellationToken));
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
    public override async Task<SetAliasResponse> SetAlias(SetAliasRequest request, ServerCallContext context)
    {
        RequestRules.Name("model_name", request.ModelName);
        RequestRules.Name("alias", request.Alias);
        RequestRules.Version("version", request.Version, 1);
        RequestRules.MaxLength("reason", request.Reason, RequestRules.MaxLongTextLength);
        RequestRules.MaxLength("actor", request.Actor, RequestRules.MaxShortTextLength);
        var change = await models.SetAliasAsync(request.ModelName, request.Alias, request.Version, request.Actor, request.Reason,
            context.CancellationToken);
        if (change.Moved)
        {
            outbox.Notify();
            LogAliasMoved(logger, request.ModelName, request.Alias, change.PreviousVersion, request.Version, request.Actor, request.Reason);
        }
        return new SetAliasResponse
        {
            ModelName = request.ModelName,
            Alias = request.Alias,
            Version = request.Version,
            PreviousVersion = change.PreviousVersion,
        };
    }

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
        var manifest = requestStream.Current.Manifest;
        RequestRules.Name("manifest.name", manifest.Name);
        if (manifest.Format.Length > 0 && manifest.Format != CsvFormat)
        {
            throw MeshErrors.InvalidArgument($"manifest.format must be 'csv' (or empty, meaning csv); it is '{manifest.Format}'.");
        }
        RequestRules.MaxLength("manifest.description", manifest.Description, RequestRules.MaxDescriptionLength);
        if (manifest.Digest.Length > 0)
        {
            RequestRules.Digest("manifest.digest", manifest.Digest);
        }

        await using var upload = blobs.BeginUpload(options.Value.MaxDatasetBytes);
        await ReceiveChunksAsync(requestStream, r => r.PayloadCase == UploadDatasetRequest.PayloadOneofCase.Chunk ? r.Chunk : null,
            upload, "dataset", "Registry:MaxDatasetBytes", cancellationToken);
        if (upload.Length == 0)
        {
            throw MeshErrors.InvalidArgument("The dataset is empty; send the CSV file as chunk messages after the manifest.");
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

        var table = await ParseCsvAsync(upload, cancellationToken);
        var dataset = await committer.CommitAsync(upload, (blob, ct) =>
            datasets.InsertAsync(manifest.Name, CsvFormat, manifest.Description, blob, table.Rows.Count, table.Columns, ct));
        LogDatasetUploaded(logger, dataset.Name, dataset.Version, dataset.RowCount, dataset.Digest);
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

    /// <summary>Copies the chunk messages after the manifest into the upload.</summary>
    private static async Task ReceiveChunksAsync<TRequest>(IAsyncStreamReader<TRequest> requestStream, Func<TRequest, ByteString?> chunkOf,
        IBlobUpload upload, string what, string limitSetting, CancellationToken cancellationToken)
    {
        while (await requestStream.MoveNext(cancellationToken))
        {
            var chunk = chunkOf(requestStream.Current)
                ?? throw MeshErrors.InvalidArgument("Only chunk messages may follow the manifest; the manifest is sent once, first.");
            try
            {
                await upload.WriteAsync(chunk.Memory, cancellationToken);
            }
            catch (BlobTooLargeException ex)
            {
                throw MeshErrors.ResourceExhausted($"The {what} exceeds the limit of {ex.Limit} bytes ({limitSetting}); nothing was stored.");
            }
        }
    }

    /// <summary>Parses the uploaded CSV with the mesh's one table parser; its sentence is the caller's answer.</summary>
    private static async Task<NumericTable> ParseCsvAsync(IBlobUpload upload, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            await using var content = upload.OpenContent();
            using var reader = new StreamReader(content, StrictUtf8, detectEncodingFromByteOrderMarks: false);
            text = await reader.ReadToEndAsync(cancellationToken);
        }
        catch (DecoderFallbackException)
        {
            throw MeshErrors.InvalidArgument("The dataset is not valid UTF-8 text; a CSV file of numbers with a header row is expected.");
        }
        try
        {
            // A UTF-8 byte order mark is not part of the first column's name.
            return NumericTable.Parse(text.TrimStart('\uFEFF'));
        }
        catch (FormatException ex)
        {
            throw MeshErrors.InvalidArgument($"The dataset is not a numeric CSV table: {ex.Message}");
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} created")]
    private static partial void LogModelCreated(ILogger logger, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} version {Version} registered: artifact {Digest}, {Size} bytes")]
    private static partial void LogVersionRegistered(ILogger logger, string model, long version, string digest, long size);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} registration refused: declared digest {Declared}, received {Computed}")]
    private static partial void LogDigestMismatch(ILogger logger, string model, string declared, string computed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} alias {Alias} moved from {From} to {To} by {Actor}: {Reason}")]
    private static partial void LogAliasMoved(ILogger logger, string model, string alias, long from, long to, string actor, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dataset {Dataset} version {Version} stored: {Rows} rows, content {Digest}")]
    private static partial void LogDatasetUploaded(ILogger logger, string dataset, long version, long rows, string digest);
}
