namespace MaaS.Inference.Runtime;

/// <summary>
/// Values of one input as the request carried them (raw bytes, typed protobuf contents or JSON). Checked
/// against the element count the shape gives before anything sized by the request is allocated, then
/// copied once into the tensor ONNX Runtime runs on.
/// </summary>
public abstract class InputData
{
    /// <summary>The sentence that says why the values do not fit the tensor, or null when they do.</summary>
    public abstract string? Check(TensorCheck tensor);

    /// <summary>Writes the values little-endian, row-major into <paramref name="destination"/> (elements × element size bytes).</summary>
    public abstract void CopyTo(TensorType type, Span<byte> destination);
}

/// <summary>What the values of one input must match: its name, datatype, shape and element count.</summary>
public sealed record TensorCheck(string Name, TensorType Type, long[] Shape, long Elements)
{
    /// <summary>The shape as [a,b,c], for sentences.</summary>
    public string ShapeText => InferenceEngine.FormatShape(Shape);
}

/// <summary>One input of a request.</summary>
public sealed record InferInput(string Name, string Datatype, IReadOnlyList<long> Shape, InputData Data);

/// <summary>A request in the form the engine takes, whatever protocol (gRPC or REST) it came in by.</summary>
public sealed record InferRequest(
    string Model,
    string? Version,
    string? ResolvedVersion,
    string Id,
    IReadOnlyList<InferInput> Inputs,
    IReadOnlyList<string> RequestedOutputs);

/// <summary>One output: datatype, shape and the values little-endian, row-major.</summary>
public sealed record InferOutput(string Name, TensorType Type, long[] Shape, byte[] Data);

/// <summary>The answer: the version that ran and the outputs in the order asked (all, in model order, when none were named).</summary>
public sealed record InferResult(string Model, long Version, string Id, IReadOnlyList<InferOutput> Outputs);
