using Google.Protobuf;
using Grpc.Core;
using Inference;
using MaaS.Inference.Runtime;
using MaaS.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace MaaS.Inference.Services;

/// <summary>
/// GRPCInferenceService (package <c>inference</c>): the Open Inference Protocol core rpcs plus Triton's
/// repository rpcs. Only the mapping between the wire and <see cref="InferenceEngine"/> lives here.
/// </summary>
public sealed partial class InferenceGrpcService(
    ModelRepository repository,
    RegistrySync sync,
    InferenceEngine engine,
    IOptions<InferenceOptions> options,
    ILogger<InferenceGrpcService> logger) : GRPCInferenceService.GRPCInferenceServiceBase
{
    /// <inheritdoc />
    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    /// <inheritdoc />
    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = repository.IsReady });

    /// <inheritdoc />
    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        var (entry, error) = repository.Resolve(request.Name, request.Version, ResolvedVersion(context));
        if (error?.StatusCode == StatusCode.InvalidArgument)
        {
            throw error;
        }
        return Task.FromResult(new ModelReadyResponse { Ready = entry is not null });
    }

    /// <inheritdoc />
    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        var response = new ServerMetadataResponse { Name = ServerInfo.Name, Version = ServerInfo.Version };
        response.Extensions.AddRange(ServerInfo.Extensions);
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var (entry, error) = repository.Resolve(request.Name, request.Version, ResolvedVersion(context));
        if (entry is null)
        {
            throw error!;
        }
        var ready = repository.Models.GetValueOrDefault(entry.Model)?.ReadyVersions ?? [entry];
        var response = new ModelMetadataResponse { Name = entry.Model, Platform = ServerInfo.Platform };
        response.Versions.AddRange(ready.Select(v => v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        response.Inputs.AddRange(entry.Loaded!.Signature.Inputs.Select(ToMetadata));
        response.Outputs.AddRange(entry.Loaded.Signature.Outputs.Select(ToMetadata));
        foreach (var (key, value) in ServerInfo.Properties(entry.Loaded))
        {
            response.Properties[key] = value;
        }
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context) =>
        InferAsync(request, ResolvedVersion(context), context);

    /// <summary>
    /// One inference, shared by ModelInfer and ModelStreamInfer: validation, the engine call (batcher,
    /// statistics, sampling, metrics) and the mapping of the result.
    /// </summary>
    /// <param name="resolvedVersion">The version the gateway resolved for this request, or null.</param>
    private async Task<ModelInferResponse> InferAsync(ModelInferRequest request, string? resolvedVersion, ServerCallContext context)
    {
        var raw = request.RawInputContents.Count > 0;
        if (raw && request.RawInputContents.Count != request.Inputs.Count)
        {
            throw MeshErrors.InvalidArgument(
                $"raw_input_contents holds {request.RawInputContents.Count} entries but the request has {request.Inputs.Count} inputs; give one entry per input, in inputs order, or none.");
        }
        var inputs = new List<InferInput>(request.Inputs.Count);
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            if (raw && HasValues(input.Contents))
            {
                throw MeshErrors.InvalidArgument(
                    $"Input '{input.Name}' sets contents while raw_input_contents is used; send every input raw or none.");
            }
            InputData data = raw ? new RawInputData(request.RawInputContents[i].Memory, RawSource, RawSize, mayBeMisaligned: false) : new TypedInputData(input.Contents);
            inputs.Add(new InferInput(input.Name, input.Datatype, input.Shape, data));
        }

        using var result = await engine.InferAsync(new InferRequest(request.ModelName, request.ModelVersion, resolvedVersion, request.Id,
            inputs, request.Outputs.Select(o => o.Name).ToList()) { RawOutputs = raw }, context.CancellationToken, context.Deadline);

        var response = new ModelInferResponse
        {
            ModelName = result.Model,
            ModelVersion = result.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Id = result.Id,
        };
        // Raw in, raw out. FP16 and BF16 have no typed field, and raw_output_contents holds one entry per
        // output or none: an answer with one of them is raw throughout, as Triton always answers.
        var rawOut = raw || result.Outputs.Any(o => o.Type.RawOnly);
        foreach (var output in result.Outputs)
        {
            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.Type.Name };
            tensor.Shape.AddRange(output.Shape);
            if (raw)
            {
                // Exact-size arrays that are ours alone and never written again: wrapped instead of copied.
                response.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(output.Data));
            }
            else if (rawOut)
            {
                // Pooled buffers go back to the pool when the result is disposed: copy.
                response.RawOutputContents.Add(ByteString.CopyFrom(output.Data.Span));
            }
            else
            {
                tensor.Contents = TypedOutput.From(output);
            }
            response.Outputs.Add(tensor);
        }
        return response;
    }

    /// <inheritdoc />
    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context)
    {
        CheckRepository(request.RepositoryName);
        var response = new RepositoryIndexResponse();
        foreach (var model in repository.Models.Values)
        {
            foreach (var v in model.Versions.Values)
            {
                if (request.Ready && v.State != VersionState.Ready)
                {
                    continue;
                }
                response.Models.Add(new RepositoryIndexResponse.Types.ModelIndex
                {
                    Name = v.Model,
                    Version = v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    State = v.StateName,
                    Reason = v.Reason,
                });
            }
        }
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override async Task<RepositoryModelLoadResponse> RepositoryModelLoad(RepositoryModelLoadRequest request, ServerCallContext context)
    {
        CheckRepository(request.RepositoryName);
        if (string.IsNullOrEmpty(request.ModelName))
        {
            throw MeshErrors.InvalidArgument("model_name is empty; name the model to load.");
        }
        ModelServingConfig? config = null;
        var files = new List<ModelFile>();
        foreach (var (name, parameter) in request.Parameters)
        {
            if (name == ModelFile.ConfigParameter)
            {
                if (parameter.ParameterChoiceCase != ModelRepositoryParameter.ParameterChoiceOneofCase.StringParam)
                {
                    throw MeshErrors.InvalidArgument("Parameter 'config' must be a string_param holding the model configuration as JSON.");
                }
                config = ServingConfigParser.FromTritonJson(parameter.StringParam, request.ModelName, repository.ConfigFor(request.ModelName));
            }
            else if (ModelFile.IsFileParameter(name))
            {
                var version = ModelFile.VersionOf(name);
                if (parameter.ParameterChoiceCase != ModelRepositoryParameter.ParameterChoiceOneofCase.BytesParam || parameter.BytesParam.IsEmpty)
                {
                    throw MeshErrors.InvalidArgument($"Parameter '{name}' must be a bytes_param holding the ONNX model.");
                }
                files.Add(new ModelFile(version, parameter.BytesParam.ToByteArray()));
            }
            else
            {
                throw ModelFile.UnknownParameter(name);
            }
        }
        await sync.LoadModelAsync(request.ModelName, config, files, context.CancellationToken);
        return new RepositoryModelLoadResponse();
    }

    /// <inheritdoc />
    public override Task<ModelStatisticsResponse> ModelStatistics(ModelStatisticsRequest request, ServerCallContext context)
    {
        var response = new ModelStatisticsResponse();
        response.ModelStats.AddRange(repository.Statistics(request.Name, request.Version).Select(GrpcStatistics.ToProto));
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override async Task<RepositoryModelUnloadResponse> RepositoryModelUnload(RepositoryModelUnloadRequest request, ServerCallContext context)
    {
        CheckRepository(request.RepositoryName);
        if (string.IsNullOrEmpty(request.ModelName))
        {
            throw MeshErrors.InvalidArgument("model_name is empty; name the model to unload.");
        }
        await sync.UnloadModelAsync(request.ModelName, context.CancellationToken);
        return new RepositoryModelUnloadResponse();
    }

    private void CheckRepository(string name)
    {
        // One repository per replica: its pool. Empty means "all", which is the same thing.
        if (!string.IsNullOrEmpty(name) && name != options.Value.Pool)
        {
            throw MeshErrors.NotFound($"Repository '{name}' is not served here; this replica serves repository '{options.Value.Pool}'.");
        }
    }

    private const string RawSource = "raw_input_contents";

    private static readonly Func<int, string> RawSize = bytes => $"{bytes} bytes in raw_input_contents";

    private static string? ResolvedVersion(ServerCallContext context) =>
        context.RequestHeaders.GetValue(ModelRepository.ResolvedVersionHeader);

    private static bool HasValues(InferTensorContents? c) =>
        c is not null && (c.BoolContents.Count + c.IntContents.Count + c.Int64Contents.Count + c.UintContents.Count
            + c.Uint64Contents.Count + c.Fp32Contents.Count + c.Fp64Contents.Count + c.BytesContents.Count) > 0;

    private static ModelMetadataResponse.Types.TensorMetadata ToMetadata(TensorInfo tensor)
    {
        var metadata = new ModelMetadataResponse.Types.TensorMetadata { Name = tensor.Name, Datatype = tensor.Type.Name };
        metadata.Shape.AddRange(tensor.Shape);
        return metadata;
    }
}
