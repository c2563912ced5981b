using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using MaaS.Inference.Runtime;
using MaaS.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace MaaS.Inference.Http;

/// <summary>
/// The REST twins of the gRPC service (KServe V2 JSON): the same repository and the same engine, so a
/// request is validated the same way whichever door it comes in by. Errors are {"error": "sentence"}
/// with 400 (invalid), 404 (not found) or 503 (not ready).
/// </summary>
public static class InferenceRestEndpoints
{
    private const string BinaryHeader = "Inference-Header-Content-Length";

    /// <summary>Maps GET /v2, health, model metadata and readiness, infer, and the repository extension.</summary>
    public static WebApplication MapInferenceRest(this WebApplication app)
    {
        var v2 = app.MapGroup("/v2");
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

        v2.MapPost("/repository/index", Index);
        v2.MapPost("/repository/models/{model}/load", (string model, RegistrySync sync, HttpContext http) =>
            Run(async () => await sync.LoadModelAsync(model, http.RequestAborted)));
        v2.MapPost("/repository/models/{model}/unload", (string model, RegistrySync sync, HttpContext http) =>
            Run(async () => await sync.UnloadModelAsync(model, http.RequestAborted)));
        return app;
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
        if (http.Request.Headers.ContainsKey(BinaryHeader))
        {
            return Error(StatusCodes.Status400BadRequest,
                $"Binary tensor data ({BinaryHeader}) is not supported by this server; send the tensors as JSON data.");
        }
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
        }
        catch (JsonException ex)
        {
            return Error(StatusCodes.Status400BadRequest, $"The request body is not valid JSON: {ex.Message}");
        }
        using (document)
        {
            try
            {
                var request = ParseInfer(document.RootElement, model, version, ResolvedVersion(http.Request));
                var result = engine.Infer(request, http.RequestAborted);
                return new JsonWriterResult(StatusCodes.Status200OK, w => WriteInferResponse(w, result));
            }
            catch (RpcException ex)
            {
                return FromStatus(ex);
            }
        }
    }

    /// <summary>Maps the KServe V2 JSON body onto the engine's request; shape problems in the JSON itself are 400s here.</summary>
    private static InferRequest ParseInfer(JsonElement root, string model, string? version, string? resolvedVersion)
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
        RejectBinary(root, "binary_data_output", "the request");
        if (!root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array)
        {
            throw MeshErrors.InvalidArgument("'inputs' must be an array of tensors, each with name, shape, datatype and data.");
        }

        var inputs = new List<InferInput>();
        var index = 0;
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
            RejectBinary(input, "binary_data_size", $"input '{name}'");
            if (!input.TryGetProperty("data", out var data))
            {
                throw MeshErrors.InvalidArgument($"Input '{name}' has no 'data'; give its values as a flat or nested array.");
            }
            inputs.Add(new InferInput(name, datatype, shape, new JsonInputData(data)));
            index++;
        }

        var outputs = new List<string>();
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
                RejectBinary(output, "binary_data", $"output '{name}'");
                outputs.Add(name);
                o++;
            }
        }
        return new InferRequest(model, version, resolvedVersion, id, inputs, outputs);
    }

    private static void WriteInferResponse(Utf8JsonWriter w, InferResult result)
    {
        w.WriteStartObject();
        w.WriteString("model_name", result.Model);
        w.WriteString("model_version", result.Version.ToString(CultureInfo.InvariantCulture));
        w.WriteString("id", result.Id);
        w.WriteStartArray("outputs");
        foreach (var output in result.Outputs)
        {
            w.WriteStartObject();
            w.WriteString("name", output.Name);
            w.WriteString("datatype", output.Type.Name);
            w.WriteStartArray("shape");
            foreach (var d in output.Shape)
            {
                w.WriteNumberValue(d);
            }
            w.WriteEndArray();
            w.WritePropertyName("data");
            JsonOutput.WriteData(w, output);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static async Task<IResult> Index(HttpContext http, ModelRepository repository, IOptions<InferenceOptions> options)
    {
        var readyOnly = false;
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body, http.RequestAborted);
        if (body.Length > 0)
        {
            try
            {
                using var document = JsonDocument.Parse(body.ToArray());
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

    private static void RejectBinary(JsonElement owner, string parameter, string where)
    {
        if (owner.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty(parameter, out var value) && value.ValueKind is not (JsonValueKind.False or JsonValueKind.Null))
        {
            throw MeshErrors.InvalidArgument(
                $"Parameter '{parameter}' of {where} asks for binary tensor data, which this server does not support; send and receive JSON data.");
        }
    }

    private static string? ResolvedVersion(HttpRequest request) =>
        request.Headers.TryGetValue(ModelRepository.ResolvedVersionHeader, out var value) ? value.ToString() : null;

    private static IResult FromStatus(RpcException ex) => Error(ex.StatusCode switch
    {
        StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.FailedPrecondition or StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.ResourceExhausted => StatusCodes.Status413PayloadTooLarge,
        StatusCode.Cancelled => StatusCodes.Status499ClientClosedRequest,
        _ => StatusCodes.Status500InternalServerError,
    }, ex.Status.Detail);

    private static IResult Error(int status, string sentence) => Results.Json(new { error = sentence }, statusCode: status);

    /// <summary>Writes a body with Utf8JsonWriter straight into the response, for tensors too large to build as objects first.</summary>
    private sealed class JsonWriterResult(int status, Action<Utf8JsonWriter> write) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "application/json";
            await using (var writer = new Utf8JsonWriter(httpContext.Response.BodyWriter))
            {
                write(writer);
            }
            await httpContext.Response.BodyWriter.FlushAsync(httpContext.RequestAborted);
        }
    }
}
