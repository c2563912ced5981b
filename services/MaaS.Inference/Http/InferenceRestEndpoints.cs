using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using MaaS.Inference.Runtime;
using MaaS.ServiceDefaults;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace MaaS.Inference.Http;

/// <summary>
/// The REST twins of the gRPC service (KServe V2 JSON): the same repository and the same engine, so a
/// request is validated the same way whichever door it comes in by. Errors are {"error": "sentence"}
/// with 400 (invalid), 404 (not found), 413 (over Inference:MaxRequestBytes), 429 (batching queue full) or 503 (not ready).
/// Infer also speaks Triton's binary tensor data extension (JSON header + tensor bytes, Inference-Header-Content-Length).
/// </summary>
public static class InferenceRestEndpoints
{
    private const string BinaryHeader = "Inference-Header-Content-Length";

    private static readonly Func<int, string> DescribeBinarySize = bytes => $"binary_data_size {bytes}";

    /// <summary>Maps GET /v2, health, model metadata and readiness, infer, and the repository extension.</summary>
    public static WebApplication MapInferenceRest(this WebApplication app)
    {
        var v2 = app.MapGroup("/v2");
        v2.AddEndpointFilter(LimitBody);
        v2.MapGet("", () => Results.Json(new { name = ServerInfo.Name, version = ServerInfo.Version, extensions = ServerInfo.Extensions }));
        v2.MapGet("/health/live", () => Results.Json(new { live = true }));
        v2.MapGet("/health/ready", (ModelRepository repository) => repository.IsReady
            ? Results.Json(new { ready = true })
            : Error(StatusCodes.Status503ServiceUnavailable, "The replica has not completed its first sync with the registry yet."));

        v2.MapGet("/models/{model}", (string model, HttpRequest request, ModelRepository repository) => Metadata(repository, model, null, request));
        v2.MapGet("/models/{model}/versions/{version}", (string model, string version, HttpRequest request, ModelRepository repository) =>
            Metadata(repository, model, version, request));
        v2.MapGet("/models/{model}/ready", (string model, HttpRequest request, ModelRepository repository) => Ready(repository, model, null, request));
        v2.MapGet("/models/{model}/versions/{version}/ready", (string model, string version, HttpRequest request, ModelRepository repository) =>
            Ready(repository, model, version, request));
        v2.MapPost("/models/{model}/infer", (string model, HttpContext http, InferenceEngine engine) => Infer(http, engine, model, null));
        v2.MapPost("/models/{model}/versions/{version}/infer", (string model, string version, HttpContext http, InferenceEngine engine) =>
            Infer(http, engine, model, version));

        // Literal "stats" wins over a model named {model}, as in Triton.
        v2.MapGet("/models/stats", (ModelRepository repository) => Statistics(repository, null, null));
        v2.MapGet("/models/{model}/stats", (string model, ModelRepository repository) => Statistics(repository, model, null));
        v2.MapGet("/models/{model}/versions/{version}/stats", (string model, string version, ModelRepository repository) =>
            Statistics(repository, model, version));

        v2.MapPost("/repository/index", Index);
        v2.MapPost("/repository/models/{model}/load", Load);
        v2.MapPost("/repository/models/{model}/unload", (string model, RegistrySync sync, HttpContext http) =>
            Run(async () => await sync.UnloadModelAsync(model, http.RequestAborted)));
        return app;
    }

    /// <summary>
    /// Inference:MaxRequestBytes for every body: a declared length over it is refused before a byte is
    /// read (413 naming the limit), and Kestrel enforces it on the bytes that do come.
    /// </summary>
    private static async ValueTask<object?> LimitBody(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var limit = http.RequestServices.GetRequiredService<IOptions<InferenceOptions>>().Value.MaxRequestBytes;
        if (http.Request.ContentLength > limit)
        {
            return TooLarge(limit);
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }
        return await next(context);
    }

    private static IResult TooLarge(int limit) => Error(StatusCodes.Status413PayloadTooLarge,
        $"The request body is larger than Inference:MaxRequestBytes ({limit} bytes); send a smaller request or raise the limit.");

    /// <summary>
    /// The whole body in a pooled buffer (returned by the caller), at most <paramref name="limit"/> bytes:
    /// null when it is longer, whatever the transport announced.
    /// </summary>
    private static async Task<(byte[] Buffer, int Length)?> ReadBodyAsync(HttpContext http, int limit)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(http.Request.ContentLength ?? 4096, 1, limit) + 1);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > limit)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return null;
                    }
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, (long)limit + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await http.Request.Body.ReadAsync(buffer.AsMemory(length), http.RequestAborted);
                if (read == 0)
                {
                    break;
                }
                length += read;
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return null;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        if (length > limit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return null;
        }
        return (buffer, length);
    }

    private static IResult Metadata(ModelRepository repository, string model, string? version, HttpRequest request)
    {
        var (entry, error) = repository.Resolve(model, version, ResolvedVersion(request));
        if (entry is null)
        {
            return FromStatus(error!);
        }
        var ready = repository.Models.GetValueOrDefault(entry.Model)?.ReadyVersions ?? [entry];
        var signature = entry.Loaded!.Signature;
        return Results.Json(new
        {
            name = entry.Model,
            versions = ready.Select(v => v.Version.ToString(CultureInfo.InvariantCulture)).ToArray(),
            platform = ServerInfo.Platform,
            inputs = signature.Inputs.Select(t => new { name = t.Name, datatype = t.Type.Name, shape = t.Shape }).ToArray(),
            outputs = signature.Outputs.Select(t => new { name = t.Name, datatype = t.Type.Name, shape = t.Shape }).ToArray(),
            properties = ServerInfo.Properties(entry.Loaded),
        });
    }

    private static IResult Ready(ModelRepository repository, string model, string? version, HttpRequest request)
    {
        var (entry, error) = repository.Resolve(model, version, ResolvedVersion(request));
        return entry is null
            ? FromStatus(error!)
            : Results.Json(new { name = entry.Model, version = entry.Version.ToString(CultureInfo.InvariantCulture), ready = true });
    }

    private static async Task<IResult> Infer(HttpContext http, InferenceEngine engine, string model, string? version)
    {
        var limit = http.RequestServices.GetRequiredService<IOptions<InferenceOptions>>().Value.MaxRequestBytes;
        if (await ReadBodyAsync(http, limit) is not { } body)
        {
            return TooLarge(limit);
        }
        try
        {
            // Binary tensor data extension: the header gives the JSON length and the tensor bytes follow it.
            int jsonLength = body.Length;
            ReadOnlyMemory<byte>? binary = null;
            if (http.Request.Headers.TryGetValue(BinaryHeader, out var header))
            {
                if (header.Count != 1 || !int.TryParse(header.ToString().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out jsonLength))
                {
                    return Error(StatusCodes.Status400BadRequest,
                        $"The {BinaryHeader} header must be one non-negative integer, the length in bytes of the JSON part of the body; got '{Shorten(header.ToString())}'.");
                }
                if (jsonLength > body.Length)
                {
                    return Error(StatusCodes.Status400BadRequest,
                        $"The {BinaryHeader} header says the JSON part is {jsonLength} bytes but the whole body has only {body.Length} bytes.");
                }
                binary = body.Buffer.AsMemory(jsonLength, body.Length - jsonLength);
            }

            // The document reads the pooled bytes in place: the buffer goes back only after it is disposed.
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(body.Buffer.AsMemory(0, jsonLength));
            }
            catch (JsonException ex)
            {
                return Error(StatusCodes.Status400BadRequest, binary is null
                    ? $"The request body is not valid JSON: {ex.Message}"
                    : $"The JSON part of the body (the first {jsonLength} bytes, per {BinaryHeader}) is not valid JSON: {ex.Message}");
            }
            using (document)
            {
                try
                {
                    var (request, outputs) = ParseInfer(document.RootElement, model, version, ResolvedVersion(http.Request), binary);
                    var result = await engine.InferAsync(request, http.RequestAborted);
                    var asBinary = outputs.BinaryFlags(result.Outputs.Count);
                    return asBinary.Contains(true)
                        ? new BinaryInferResult(result, asBinary)
                        : new JsonWriterResult(StatusCodes.Status200OK, w => WriteInferResponse(w, result, null), result);
                }
                catch (RpcException ex)
                {
                    return FromStatus(ex);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body.Buffer);
        }
    }

    private static async Task<IResult> Load(string model, HttpContext http, RegistrySync sync, ModelRepository repository, IOptions<InferenceOptions> options)
    {
        if (await ReadBodyAsync(http, options.Value.MaxRequestBytes) is not { } body)
        {
            return TooLarge(options.Value.MaxRequestBytes);
        }
        try
        {
            ModelServingConfig? config = null;
            var files = new List<ModelFile>();
            if (body.Length > 0)
            {
                using var document = JsonDocument.Parse(body.Buffer.AsMemory(0, body.Length));
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw MeshErrors.InvalidArgument("The request body must be a JSON object, e.g. {\"parameters\":{\"config\":\"{...}\"}}.");
                }
                if (document.RootElement.TryGetProperty("parameters", out var parameters))
                {
                    if (parameters.ValueKind != JsonValueKind.Object)
                    {
                        throw MeshErrors.InvalidArgument("'parameters' must be an object of named parameters.");
                    }
                    foreach (var parameter in parameters.EnumerateObject())
                    {
                        if (parameter.Name == ModelFile.ConfigParameter)
                        {
                            if (parameter.Value.ValueKind != JsonValueKind.String)
                            {
                                throw MeshErrors.InvalidArgument("Parameter 'config' must be a string holding the model configuration as JSON.");
                            }
                            config = ServingConfigParser.FromTritonJson(parameter.Value.GetString()!, model, repository.ConfigFor(model));
                        }
                        else if (ModelFile.IsFileParameter(parameter.Name))
                        {
                            var version = ModelFile.VersionOf(parameter.Name);
                            if (parameter.Value.ValueKind != JsonValueKind.String || !parameter.Value.TryGetBytesFromBase64(out var onnx) || onnx.Length == 0)
                            {
                                throw MeshErrors.InvalidArgument($"Parameter '{parameter.Name}' must be the ONNX model as a base64 string.");
                            }
                            files.Add(new ModelFile(version, onnx));
                        }
                        else
                        {
                            throw ModelFile.UnknownParameter(parameter.Name);
                        }
                    }
                }
            }
            await sync.LoadModelAsync(model, config, files, http.RequestAborted);
            return Results.Json(new { });
        }
        catch (JsonException ex)
        {
            return Error(StatusCodes.Status400BadRequest, $"The request body is not valid JSON: {ex.Message}");
        }
        catch (RpcException ex)
        {
            return FromStatus(ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body.Buffer);
        }
    }

    /// <summary>Triton's statistics JSON: {"model_stats":[{name, version, last_inference, inference_count, execution_count, inference_stats, batch_stats, memory_usage}]}.</summary>
    private static IResult Statistics(ModelRepository repository, string? model, string? version)
    {
        IReadOnlyList<StatisticsSnapshot> snapshots;
        try
        {
            snapshots = repository.Statistics(model, version);
        }
        catch (RpcException ex)
        {
            return FromStatus(ex);
        }
        static object D(DurationTotal d) => new { count = d.Count, ns = d.Ns };
        return Results.Json(new
        {
            model_stats = snapshots.Select(s => new
            {
                name = s.Model,
                version = s.Version.ToString(CultureInfo.InvariantCulture),
                last_inference = s.LastInferenceMs,
                inference_count = s.InferenceCount,
                execution_count = s.ExecutionCount,
                inference_stats = new
                {
                    success = D(s.Success),
                    fail = D(s.Fail),
                    queue = D(s.Queue),
                    compute_input = D(s.ComputeInput),
                    compute_infer = D(s.ComputeInfer),
                    compute_output = D(s.ComputeOutput),
                    cache_hit = D(default),
                    cache_miss = D(default),
                },
                batch_stats = s.Batches.Select(b => new
                {
                    batch_size = b.BatchSize,
                    compute_input = D(b.ComputeInput),
                    compute_infer = D(b.ComputeInfer),
                    compute_output = D(b.ComputeOutput),
                }).ToArray(),
                memory_usage = new[] { new { type = s.MemoryType, id = 0, byte_size = s.MemoryBytes } },
            }).ToArray(),
        });
    }

    /// <summary>
    /// Maps the KServe V2 JSON body (and, with the binary extension, the bytes after it) onto the engine's
    /// request; problems in the JSON itself and in the binary layout are 400s here.
    /// </summary>
    private static (InferRequest Request, OutputForms Outputs) ParseInfer(JsonElement root, string model, string? version, string? resolvedVersion,
        ReadOnlyMemory<byte>? binary)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw MeshErrors.InvalidArgument("The request body must be a JSON object with an 'inputs' array.");
        }
        var id = "";
        if (root.TryGetProperty("id", out var idElement))
        {
            id = idElement.ValueKind == JsonValueKind.String ? idElement.GetString()! : throw MeshErrors.InvalidArgument("'id' must be a string.");
        }
        var allBinary = BoolParameter(root, "binary_data_output", "the request") ?? false;
        if (!root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array)
        {
            throw MeshErrors.InvalidArgument("'inputs' must be an array of tensors, each with name, shape, datatype and data.");
        }

        var inputs = new List<InferInput>();
        var index = 0;
        var offset = 0;
        foreach (var input in inputsElement.EnumerateArray())
        {
            if (input.ValueKind != JsonValueKind.Object)
            {
                throw MeshErrors.InvalidArgument($"inputs[{index}] must be an object with name, shape, datatype and data.");
            }
            var name = RequiredString(input, "name", $"inputs[{index}]");
            var datatype = RequiredString(input, "datatype", $"Input '{name}'");
            if (!input.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            {
                throw MeshErrors.InvalidArgument($"Input '{name}' needs 'shape', an array of integers.");
            }
            var shape = new List<long>();
            foreach (var dim in shapeElement.EnumerateArray())
            {
                if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var d))
                {
                    throw MeshErrors.InvalidArgument($"Input '{name}' has shape entry {dim.GetRawText()}; shape entries must be integers.");
                }
                shape.Add(d);
            }
            var hasData = input.TryGetProperty("data", out var data);
            if (BinarySize(input, name) is { } size)
            {
                if (hasData)
                {
                    throw MeshErrors.InvalidArgument(
                        $"Input '{name}' has both binary_data_size and data; send its values either as binary data after the JSON or as JSON data, not both.");
                }
                if (binary is not { } bytes)
                {
                    throw MeshErrors.InvalidArgument(
                        $"Input '{name}' has binary_data_size {size} but the request has no {BinaryHeader} header; binary data needs that header to say where the JSON part ends.");
                }
                if (size > bytes.Length - offset)
                {
                    throw MeshErrors.InvalidArgument(
                        $"Input '{name}' has binary_data_size {size} but only {bytes.Length - offset} bytes of binary data are left after the JSON part and the binary inputs before it.");
                }
                // Inputs take their bytes in input order; RawInputData checks the size against the shape once the model is known.
                inputs.Add(new InferInput(name, datatype, shape, new RawInputData(bytes.Slice(offset, (int)size), "its binary data", DescribeBinarySize, mayBeMisaligned: true)));
                offset += (int)size;
            }
            else
            {
                if (!hasData)
                {
                    throw MeshErrors.InvalidArgument($"Input '{name}' has no 'data'; give its values as a flat or nested array.");
                }
                inputs.Add(new InferInput(name, datatype, shape, new JsonInputData(data)));
            }
            index++;
        }
        if (binary is { } all && offset != all.Length)
        {
            throw MeshErrors.InvalidArgument(
                $"The body has {all.Length} bytes of binary data after the JSON part but the inputs' binary_data_size add up to {offset}; the sizes must account for every byte.");
        }

        var outputs = new List<string>();
        var outputBinary = new List<bool?>();
        if (root.TryGetProperty("outputs", out var outputsElement))
        {
            if (outputsElement.ValueKind != JsonValueKind.Array)
            {
                throw MeshErrors.InvalidArgument("'outputs' must be an array of objects with a name.");
            }
            var o = 0;
            foreach (var output in outputsElement.EnumerateArray())
            {
                if (output.ValueKind != JsonValueKind.Object)
                {
                    throw MeshErrors.InvalidArgument($"outputs[{o}] must be an object with a name.");
                }
                var name = RequiredString(output, "name", $"outputs[{o}]");
                outputBinary.Add(BoolParameter(output, "binary_data", $"output '{name}'"));
                outputs.Add(name);
                o++;
            }
        }
        return (new InferRequest(model, version, resolvedVersion, id, inputs, outputs), new OutputForms(allBinary, outputBinary));
    }

    /// <summary>
    /// Which outputs go back as binary data: an output's own binary_data, else the request's binary_data_output.
    /// The engine answers the named outputs in the order named, or every output when none was named.
    /// </summary>
    private sealed record OutputForms(bool AllBinary, IReadOnlyList<bool?> Named)
    {
        public bool[] BinaryFlags(int count)
        {
            var flags = new bool[count];
            for (var i = 0; i < count; i++)
            {
                flags[i] = (i < Named.Count ? Named[i] : null) ?? AllBinary;
            }
            return flags;
        }
    }

    /// <summary>
    /// Writes the response JSON; an output marked in <paramref name="binary"/> gets parameters.binary_data_size
    /// instead of data (its bytes follow the JSON).
    /// </summary>
    private static void WriteInferResponse(Utf8JsonWriter w, InferResult result, bool[]? binary)
    {
        w.WriteStartObject();
        w.WriteString("model_name", result.Model);
        w.WriteString("model_version", result.Version.ToString(CultureInfo.InvariantCulture));
        w.WriteString("id", result.Id);
        w.WriteStartArray("outputs");
        for (var i = 0; i < result.Outputs.Count; i++)
        {
            var output = result.Outputs[i];
            w.WriteStartObject();
            w.WriteString("name", output.Name);
            w.WriteString("datatype", output.Type.Name);
            w.WriteStartArray("shape");
            foreach (var d in output.Shape)
            {
                w.WriteNumberValue(d);
            }
            w.WriteEndArray();
            if (binary is not null && binary[i])
            {
                w.WriteStartObject("parameters");
                w.WriteNumber("binary_data_size", output.Data.Length);
                w.WriteEndObject();
            }
            else
            {
                w.WritePropertyName("data");
                JsonOutput.WriteData(w, output);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static async Task<IResult> Index(HttpContext http, ModelRepository repository, IOptions<InferenceOptions> options)
    {
        var readyOnly = false;
        if (await ReadBodyAsync(http, options.Value.MaxRequestBytes) is not { } body)
        {
            return TooLarge(options.Value.MaxRequestBytes);
        }
        using var returned = new PooledBody(body.Buffer);
        if (body.Length > 0)
        {
            try
            {
                using var document = JsonDocument.Parse(body.Buffer.AsMemory(0, body.Length));
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    if (document.RootElement.TryGetProperty("ready", out var ready))
                    {
                        readyOnly = ready.ValueKind == JsonValueKind.True;
                    }
                    if (document.RootElement.TryGetProperty("repository_name", out var repo) && repo.ValueKind == JsonValueKind.String
                        && repo.GetString() is { Length: > 0 } name && name != options.Value.Pool)
                    {
                        return Error(StatusCodes.Status404NotFound, $"Repository '{name}' is not served here; this replica serves repository '{options.Value.Pool}'.");
                    }
                }
            }
            catch (JsonException ex)
            {
                return Error(StatusCodes.Status400BadRequest, $"The request body is not valid JSON: {ex.Message}");
            }
        }
        var models = repository.Models.Values
            .SelectMany(m => m.Versions.Values)
            .Where(v => !readyOnly || v.State == VersionState.Ready)
            .Select(v => new { name = v.Model, version = v.Version.ToString(CultureInfo.InvariantCulture), state = v.StateName, reason = v.Reason })
            .ToArray();
        return Results.Json(models);
    }

    private static async Task<IResult> Run(Func<Task> action)
    {
        try
        {
            await action();
            return Results.Json(new { });
        }
        catch (RpcException ex)
        {
            return FromStatus(ex);
        }
    }

    private static string RequiredString(JsonElement owner, string property, string what)
    {
        if (!owner.TryGetProperty(property, out var value) || value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(value.GetString()))
        {
            throw MeshErrors.InvalidArgument($"{what} needs '{property}', a non-empty string.");
        }
        return value.GetString()!;
    }

    /// <summary>A boolean parameter of <paramref name="owner"/>'s "parameters" object, or null when it is not given.</summary>
    private static bool? BoolParameter(JsonElement owner, string parameter, string where)
    {
        if (Parameter(owner, parameter, where) is not { } value)
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw MeshErrors.InvalidArgument($"Parameter '{parameter}' of {where} must be true or false; got {Shorten(value.GetRawText())}."),
        };
    }

    /// <summary>An input's binary_data_size (bytes of binary data it takes), or null when its values are JSON data.</summary>
    private static long? BinarySize(JsonElement input, string name)
    {
        if (Parameter(input, "binary_data_size", $"input '{name}'") is not { } value)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var size))
        {
            throw MeshErrors.InvalidArgument($"Input '{name}' has binary_data_size {Shorten(value.GetRawText())}; it must be an integer number of bytes.");
        }
        return size >= 0
            ? size
            : throw MeshErrors.InvalidArgument($"Input '{name}' has binary_data_size {size}; it must be zero or more bytes.");
    }

    private static JsonElement? Parameter(JsonElement owner, string parameter, string where)
    {
        if (!owner.TryGetProperty("parameters", out var parameters) || parameters.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (parameters.ValueKind != JsonValueKind.Object)
        {
            throw MeshErrors.InvalidArgument($"'parameters' of {where} must be an object of named parameters.");
        }
        return parameters.TryGetProperty(parameter, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private static string? ResolvedVersion(HttpRequest request) =>
        request.Headers.TryGetValue(ModelRepository.ResolvedVersionHeader, out var value) ? value.ToString() : null;

    private static IResult FromStatus(RpcException ex) => Error(ex.StatusCode switch
    {
        StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.FailedPrecondition or StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        // Oversized bodies are refused with 413 before this; what is left is a full queue.
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Cancelled => StatusCodes.Status499ClientClosedRequest,
        _ => StatusCodes.Status500InternalServerError,
    }, ex.Status.Detail);

    private static IResult Error(int status, string sentence) => Results.Json(new { error = sentence }, statusCode: status);

    /// <summary>
    /// Writes a body with Utf8JsonWriter straight into the response, for tensors too large to build as
    /// objects first; then disposes <paramref name="owner"/> (the result whose pooled buffers it read).
    /// </summary>
    private sealed class JsonWriterResult(int status, Action<Utf8JsonWriter> write, IDisposable owner) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            try
            {
                httpContext.Response.StatusCode = status;
                httpContext.Response.ContentType = "application/json";
                await using (var writer = new Utf8JsonWriter(httpContext.Response.BodyWriter))
                {
                    write(writer);
                }
                await httpContext.Response.BodyWriter.FlushAsync(httpContext.RequestAborted);
            }
            finally
            {
                owner.Dispose();
            }
        }
    }

    /// <summary>
    /// A response with binary outputs (Triton's binary tensor data extension): the JSON, then the bytes of each
    /// binary output in output order, as application/octet-stream with the JSON length in
    /// Inference-Header-Content-Length; then disposes the result whose pooled buffers it read.
    /// </summary>
    private sealed class BinaryInferResult(InferResult result, bool[] binary) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            try
            {
                // The JSON length goes in a header, so the JSON is written first; it holds no binary values, only the JSON ones.
                var json = new ArrayBufferWriter<byte>();
                await using (var writer = new Utf8JsonWriter(json))
                {
                    WriteInferResponse(writer, result, binary);
                }
                long length = json.WrittenCount;
                for (var i = 0; i < binary.Length; i++)
                {
                    length += binary[i] ? result.Outputs[i].Data.Length : 0;
                }
                var response = httpContext.Response;
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "application/octet-stream";
                response.Headers[BinaryHeader] = json.WrittenCount.ToString(CultureInfo.InvariantCulture);
                response.ContentLength = length;
                await response.BodyWriter.WriteAsync(json.WrittenMemory, httpContext.RequestAborted);
                for (var i = 0; i < binary.Length; i++)
                {
                    if (binary[i])
                    {
                        await response.BodyWriter.WriteAsync(result.Outputs[i].Data, httpContext.RequestAborted);
                    }
                }
            }
            finally
            {
                result.Dispose();
            }
        }
    }

    /// <summary>Returns a pooled body buffer at the end of a scope.</summary>
    private readonly struct PooledBody(byte[] buffer) : IDisposable
    {
        public void Dispose() => ArrayPool<byte>.Shared.Return(buffer);
    }
}
