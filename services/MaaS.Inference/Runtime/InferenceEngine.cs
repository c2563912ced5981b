using MaaS.ServiceDefaults;
using Microsoft.ML.OnnxRuntime;

namespace MaaS.Inference.Runtime;

/// <summary>
/// The one inference path behind gRPC and REST: picks the version, validates every input against the
/// model before allocating anything the request sizes, runs ONNX Runtime, and hands back the outputs.
/// </summary>
public sealed class InferenceEngine(ModelRepository repository)
{
    /// <summary>Largest tensor taken, in elements: a guard against shapes whose product is absurd.</summary>
    public const long MaxElementsPerTensor = 64L * 1024 * 1024;

    /// <summary>Runs one request.</summary>
    /// <exception cref="Grpc.Core.RpcException">InvalidArgument, NotFound or FailedPrecondition with a sentence naming the tensor or model.</exception>
    public InferResult Infer(InferRequest request, CancellationToken cancellationToken)
    {
        using var lease = repository.Acquire(request.Model, request.Version, request.ResolvedVersion);
        var model = lease.Model;
        var (inputs, outputs) = Validate(request, model);

        var values = new List<OrtValue>(inputs.Count);
        try
        {
            foreach (var (check, data) in inputs)
            {
                var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, check.Type.Element, check.Shape);
                values.Add(value);
                if (check.Elements > 0)
                {
                    data.CopyTo(check.Type, value.GetTensorMutableRawData());
                }
            }

            using var runOptions = new RunOptions();
            using var cancel = cancellationToken.Register(() => runOptions.Terminate = true);
            IDisposableReadOnlyCollection<OrtValue> results;
            try
            {
                results = model.Session.Session.Run(runOptions, inputs.Select(i => i.Check.Name).ToArray(), values, outputs.Select(o => o.Name).ToArray());
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (OnnxRuntimeException ex)
            {
                // Validation covers what the signature states; what is left (e.g. two inputs whose dynamic
                // dimensions disagree inside the graph) is still the inputs' doing, not a server fault.
                throw MeshErrors.InvalidArgument(
                    $"Model '{model.Model}' version {model.Version} could not run on these inputs: {ex.Message.Split('\n', 2)[0].Trim()}");
            }

            using (results)
            {
                var answer = new List<InferOutput>(outputs.Count);
                for (var i = 0; i < outputs.Count; i++)
                {
                    var info = results[i].GetTensorTypeAndShape();
                    var type = TensorTypes.FromElement(info.ElementDataType) ?? outputs[i].Type;
                    var data = info.ElementCount == 0 ? [] : results[i].GetTensorMutableRawData().ToArray();
                    answer.Add(new InferOutput(outputs[i].Name, type, info.Shape, data));
                }
                return new InferResult(model.Model, model.Version, request.Id, answer);
            }
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    private static (List<(TensorCheck Check, InputData Data)> Inputs, List<TensorInfo> Outputs) Validate(InferRequest request, LoadedModel model)
    {
        var signature = model.Signature;
        var what = $"model '{model.Model}' version {model.Version}";
        var inputs = new List<(TensorCheck, InputData)>(request.Inputs.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);

        for (var index = 0; index < request.Inputs.Count; index++)
        {
            var input = request.Inputs[index];
            if (string.IsNullOrEmpty(input.Name))
            {
                throw MeshErrors.InvalidArgument($"Input #{index} has no name; every input must name a model input ({signature.InputNames}).");
            }
            if (!signature.InputsByName.TryGetValue(input.Name, out var expected))
            {
                throw MeshErrors.InvalidArgument($"Input '{input.Name}' is not an input of {what}; its inputs are {signature.InputNames}.");
            }
            if (!seen.Add(input.Name))
            {
                throw MeshErrors.InvalidArgument($"Input '{input.Name}' is given more than once; give each input once.");
            }
            if (!string.Equals(input.Datatype, expected.Type.Name, StringComparison.Ordinal))
            {
                throw MeshErrors.InvalidArgument(
                    $"Input '{input.Name}' has datatype '{input.Datatype}' but {what} expects {expected.Type.Name}.");
            }
            if (input.Shape.Count != expected.Shape.Length)
            {
                throw MeshErrors.InvalidArgument(
                    $"Input '{input.Name}' has shape {FormatShape(input.Shape.Take(16))}{(input.Shape.Count > 16 ? "…" : "")} of rank {input.Shape.Count} but {what} expects rank {expected.Shape.Length} ({FormatShape(expected.Shape)}, -1 = any size).");
            }
            var shape = input.Shape.ToArray();
            long elements = 1;
            for (var axis = 0; axis < shape.Length; axis++)
            {
                var dim = shape[axis];
                if (dim < 0)
                {
                    throw MeshErrors.InvalidArgument($"Input '{input.Name}' has dimension {dim} at axis {axis}; dimensions must not be negative.");
                }
                if (expected.Shape[axis] >= 0 && dim != expected.Shape[axis])
                {
                    throw MeshErrors.InvalidArgument(
                        $"Input '{input.Name}' has dimension {dim} at axis {axis} but {what} fixes that axis at {expected.Shape[axis]} ({FormatShape(expected.Shape)}).");
                }
            }
            foreach (var dim in shape)
            {
                // Checked before multiplying so that no product can overflow.
                if (dim != 0 && elements > MaxElementsPerTensor / dim)
                {
                    throw MeshErrors.InvalidArgument(
                        $"Input '{input.Name}' has shape {FormatShape(shape)}, more than {MaxElementsPerTensor} elements; at most {MaxElementsPerTensor} are taken per tensor.");
                }
                elements *= dim;
            }
            var check = new TensorCheck(input.Name, expected.Type, shape, elements);
            if (input.Data.Check(check) is { } problem)
            {
                throw MeshErrors.InvalidArgument(problem);
            }
            inputs.Add((check, input.Data));
        }

        foreach (var needed in signature.Inputs)
        {
            if (!seen.Contains(needed.Name))
            {
                throw MeshErrors.InvalidArgument($"Input '{needed.Name}' of {what} is missing; the model needs {signature.InputNames}.");
            }
        }

        if (request.RequestedOutputs.Count == 0)
        {
            return (inputs, signature.Outputs.ToList());
        }
        var outputs = new List<TensorInfo>(request.RequestedOutputs.Count);
        var asked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in request.RequestedOutputs)
        {
            if (!signature.OutputsByName.TryGetValue(name, out var output))
            {
                throw MeshErrors.InvalidArgument($"Requested output '{name}' is not an output of {what}; its outputs are {signature.OutputNames}.");
            }
            if (!asked.Add(name))
            {
                throw MeshErrors.InvalidArgument($"Output '{name}' is requested more than once; name each output once.");
            }
            outputs.Add(output);
        }
        return (inputs, outputs);
    }

    /// <summary>A shape as [a,b,c].</summary>
    public static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";
}
