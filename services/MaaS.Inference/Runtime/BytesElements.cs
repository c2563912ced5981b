using System.Buffers.Binary;
using Microsoft.ML.OnnxRuntime;

namespace MaaS.Inference.Runtime;

/// <summary>
/// BYTES in the raw wire form: each element a 4-byte little-endian unsigned length followed by that many
/// bytes, elements concatenated (KServe's <c>struct.pack("&lt;I", len(s)) + s</c>). ONNX Runtime holds
/// them as string tensors, whose elements are byte strings: no text decoding happens on the way.
/// </summary>
public static class BytesElements
{
    /// <summary>The sentence that says why <paramref name="raw"/> is not exactly <paramref name="elements"/> elements, or null.</summary>
    public static string? Check(ReadOnlySpan<byte> raw, long elements, string tensor, string where)
    {
        var offset = 0;
        for (long i = 0; i < elements; i++)
        {
            if (raw.Length - offset < 4)
            {
                return $"Input '{tensor}' ends inside the length prefix of BYTES element {i} in {where}; each element is a 4-byte little-endian length followed by its bytes, and the shape needs {elements} elements.";
            }
            var length = BinaryPrimitives.ReadUInt32LittleEndian(raw[offset..]);
            offset += 4;
            if (length > (uint)(raw.Length - offset))
            {
                return $"Input '{tensor}' gives BYTES element {i} a length of {length} bytes in {where} but only {raw.Length - offset} bytes follow.";
            }
            offset += (int)length;
        }
        return offset == raw.Length
            ? null
            : $"Input '{tensor}' has {raw.Length - offset} bytes in {where} after its {elements} BYTES elements; the shape needs exactly {elements}.";
    }

    /// <summary>Writes the elements of checked raw bytes into the string tensor, from <paramref name="firstElement"/> on.</summary>
    public static void CopyTo(ReadOnlySpan<byte> raw, OrtValue tensor, int firstElement)
    {
        var offset = 0;
        var index = firstElement;
        while (offset < raw.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(raw[offset..]);
            offset += 4;
            tensor.StringTensorSetElementAt(raw.Slice(offset, length), index++);
            offset += length;
        }
    }

    /// <summary>Bytes the raw form of elements [first, first + count) of a string tensor takes.</summary>
    public static long EncodedLength(OrtValue tensor, long first, long count)
    {
        long total = 0;
        for (var i = first; i < first + count; i++)
        {
            total += 4 + tensor.GetStringElementAsSpan((int)i).Length;
        }
        return total;
    }

    /// <summary>Writes elements [first, first + count) of a string tensor in the raw form into <paramref name="destination"/>.</summary>
    public static void Encode(OrtValue tensor, long first, long count, Span<byte> destination)
    {
        var offset = 0;
        for (var i = first; i < first + count; i++)
        {
            var element = tensor.GetStringElementAsSpan((int)i);
            BinaryPrimitives.WriteUInt32LittleEndian(destination[offset..], (uint)element.Length);
            element.CopyTo(destination[(offset + 4)..]);
            offset += 4 + element.Length;
        }
    }

    /// <summary>The elements of raw-form bytes, one slice each.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Split(ReadOnlyMemory<byte> raw)
    {
        var offset = 0;
        while (offset < raw.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(raw.Span[offset..]);
            yield return raw.Slice(offset + 4, length);
            offset += 4 + length;
        }
    }
}
