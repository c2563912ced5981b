using Microsoft.ML.OnnxRuntime;

namespace MaaS.Inference.Runtime;

/// <summary>
/// An input carried as little-endian, row-major bytes (BOOL one byte, BYTES a 4-byte little-endian length then the
/// bytes per element): gRPC <c>raw_input_contents</c>, or REST's binary tensor data extension.
/// </summary>
/// <param name="bytes">The input's bytes; they must outlive the model run.</param>
/// <param name="source">Where the bytes came from, for sentences (<c>raw_input_contents</c>, <c>its binary data</c>).</param>
/// <param name="describeSize">How a sentence names the size the caller sent (e.g. <c>binary_data_size 12</c>).</param>
/// <param name="mayBeMisaligned">
/// The bytes can start at any offset (after a JSON header): read in place only when aligned to the element size,
/// otherwise copied once into an aligned buffer.
/// </param>
public sealed class RawInputData(ReadOnlyMemory<byte> bytes, string source, Func<int, string> describeSize, bool mayBeMisaligned)
    : InputData
{
    /// <inheritdoc />
    public override string? Check(TensorCheck tensor)
    {
        if (tensor.Type.IsBytes)
        {
            return BytesElements.Check(bytes.Span, tensor.Elements, tensor.Name, source);
        }
        var needed = tensor.Elements * tensor.Type.ElementSize;
        return bytes.Length == needed
            ? null
            : $"Input '{tensor.Name}' has {describeSize(bytes.Length)} but shape {tensor.ShapeText} of {tensor.Type.Name} needs {tensor.Elements} × {tensor.Type.ElementSize} = {needed} bytes.";
    }

    /// <inheritdoc />
    public override bool TryGetRaw(TensorType type, out ReadOnlyMemory<byte> raw)
    {
        // BOOL is normalised on the copy; every other fixed-size type is already what ONNX Runtime reads.
        raw = bytes;
        return type != TensorTypes.Bool && !type.IsBytes && (!mayBeMisaligned || IsAligned(bytes, type.ElementSize));
    }

    /// <inheritdoc />
    public override void CopyStringsTo(OrtValue tensor, int firstElement) => BytesElements.CopyTo(bytes.Span, tensor, firstElement);

    /// <inheritdoc />
    public override void CopyTo(TensorType type, Span<byte> destination)
    {
        bytes.Span.CopyTo(destination);
        if (type == TensorTypes.Bool)
        {
            // BOOL is one byte 0 or 1 on the wire; any other byte is read as true rather than handed to the model as is.
            foreach (ref var b in destination)
            {
                b = b == 0 ? (byte)0 : (byte)1;
            }
        }
    }

    private static bool IsAligned(ReadOnlyMemory<byte> memory, int elementSize) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset % elementSize == 0;
}
