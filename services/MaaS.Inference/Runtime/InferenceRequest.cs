using System.Buffers;
using Microsoft.ML.OnnxRuntime;

namespace MaaS.Inference.Runtime;

/// <summary>
/// Values of one input as the request carried them (raw bytes, typed protobuf contents or JSON). Checked
/// against the element count the shape gives before anything sized by the request is allocated, then
/// copied once into the tensor ONNX Runtime runs on (or, raw and already in ONNX Runtime's layout, not
/// copied at all). The copy methods take an offset so that a batch can gather several requests into one tensor.
/// </summary>
public abstract class InputData
{
    /// <summary>The sentence that says why the values do not fit the tensor, or null when they do.</summary>
    public abstract string? Check(TensorCheck tensor);

    /// <summary>Writes fixed-size values little-endian, row-major into <paramref name="destination"/> (elements × element size bytes).</summary>
    public abstract void CopyTo(TensorType type, Span<byte> destination);

    /// <summary>BYTES: sets elements <paramref name="firstElement"/>… of the string tensor <paramref name="tensor"/> to this input's elements.</summary>
    public abstract void CopyStringsTo(OrtValue tensor, int firstElement);

    /// <summary>
    /// The values as little-endian bytes ONNX Runtime can read in place, when the request carried them
    /// so (raw contents of a type that needs no conversion); false otherwise.
    /// </summary>
    public virtual bool TryGetRaw(TensorType type, out ReadOnlyMemory<byte> bytes)
    {
        bytes = default;
        return false;
    }
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
    IReadOnlyList<string> RequestedOutputs)
{
    /// <summary>
    /// The caller hands the output bytes on as they are (gRPC raw_output_contents): the engine gives each
    /// output an exact-size array of its own to wrap without a copy. Otherwise the outputs are converted
    /// (typed contents, JSON) and live in pooled buffers that <see cref="InferResult.Dispose"/> returns.
    /// </summary>
    public bool RawOutputs { get; init; }
}

/// <summary>
/// One output: datatype, shape and the values little-endian, row-major; BYTES values in the raw wire form
/// (each element a 4-byte little-endian length, then its bytes).
/// </summary>
public sealed record InferOutput(string Name, TensorType Type, long[] Shape, ReadOnlyMemory<byte> Data);

/// <summary>
/// The answer: the version that ran and the outputs in the order asked (all, in model order, when none
/// were named). Dispose it once the response is written: pooled output buffers go back to the pool.
/// </summary>
public sealed class InferResult(string model, long version, string id, IReadOnlyList<InferOutput> outputs, IReadOnlyList<byte[]>? rented = null) : IDisposable
{
    private IReadOnlyList<byte[]>? rented = rented;

    /// <summary>Model name.</summary>
    public string Model { get; } = model;

    /// <summary>The version that answered.</summary>
    public long Version { get; } = version;

    /// <summary>The request id, echoed.</summary>
    public string Id { get; } = id;

    /// <summary>The outputs.</summary>
    public IReadOnlyList<InferOutput> Outputs { get; } = outputs;

    /// <inheritdoc />
    public void Dispose()
    {
        var buffers = Interlocked.Exchange(ref rented, null);
        foreach (var buffer in buffers ?? [])
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
