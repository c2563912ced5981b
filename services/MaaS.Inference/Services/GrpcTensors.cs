using System.Runtime.InteropServices;
using Google.Protobuf;
using Inference;
using MaaS.Inference.Runtime;
using Microsoft.ML.OnnxRuntime;

namespace MaaS.Inference.Services;

/// <summary>An input sent in typed <c>contents</c>: the repeated field that belongs to its datatype.</summary>
internal sealed class TypedInputData(InferTensorContents? contents) : InputData
{
    private readonly InferTensorContents contents = contents ?? new InferTensorContents();

    public override string? Check(TensorCheck tensor)
    {
        var type = tensor.Type;
        if (type.RawOnly)
        {
            return $"Input '{tensor.Name}' is {type.Name}, which has no typed contents field; send it in raw_input_contents (2 bytes per element, little-endian).";
        }
        var field = FieldOf(type);
        foreach (var (name, count) in Counts())
        {
            if (name != field && count > 0)
            {
                return $"Input '{tensor.Name}' is {type.Name}, whose values belong in contents.{field}, but it carries {count} values in contents.{name}.";
            }
        }
        var given = Counts().First(c => c.Field == field).Count;
        if (given != tensor.Elements)
        {
            return $"Input '{tensor.Name}' has {given} values in contents.{field} but its shape {tensor.ShapeText} needs {tensor.Elements}.";
        }
        var (min, max) = RangeOf(type);
        if (field == "int_contents" && (min > int.MinValue || max < int.MaxValue))
        {
            for (var i = 0; i < contents.IntContents.Count; i++)
            {
                var v = contents.IntContents[i];
                if (v < min || v > max)
                {
                    return $"Input '{tensor.Name}' holds {v} at element {i}, outside the range of {type.Name} ({min} to {max}).";
                }
            }
        }
        if (field == "uint_contents" && max < uint.MaxValue)
        {
            for (var i = 0; i < contents.UintContents.Count; i++)
            {
                var v = contents.UintContents[i];
                if (v > max)
                {
                    return $"Input '{tensor.Name}' holds {v} at element {i}, outside the range of {type.Name} (0 to {max}).";
                }
            }
        }
        return null;
    }

    public override void CopyStringsTo(OrtValue tensor, int firstElement)
    {
        for (var i = 0; i < contents.BytesContents.Count; i++)
        {
            tensor.StringTensorSetElementAt(contents.BytesContents[i].Span, firstElement + i);
        }
    }

    public override void CopyTo(TensorType type, Span<byte> destination)
    {
        switch (type.Element)
        {
            case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Bool:
                for (var i = 0; i < contents.BoolContents.Count; i++) { destination[i] = contents.BoolContents[i] ? (byte)1 : (byte)0; }
                break;
            case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int8:
                Fill(MemoryMarshal.Cast<byte, sbyte>(destination), contents.IntContents, v => (sbyte)v);
                break;
            case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int16:
                Fill(MemoryMarshal.Cast<byte, short>(destination), contents.IntContents, v => (short)v);
                break;
            case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int32:
                Fill(MemoryMarshal.Cast<byte, int>(destination), contents.IntContents, v => v);
                break;
            case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64:
                Fill(MemoryMarshal.Cast<byte, long>(destination), contents.Int64Contents, v => v);
                break;
            case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.UInt8:
                Fill(destination, contents.UintContents, v => (byte)v);
                break;
            case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.UInt16:
                Fill(MemoryMarshal.Cast<byte, ushort>(destination), contents.UintContents, v => (ushort)v);
                break;
            case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.UInt32:
                Fill(MemoryMarshal.Cast<byte, uint>(destination), contents.UintContents, v => v);
                break;
            case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.UInt64:
                Fill(MemoryMarshal.Cast<byte, ulong>(destination), contents.Uint64Contents, v => v);
                break;
            case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float:
                Fill(MemoryMarshal.Cast<byte, float>(destination), contents.Fp32Contents, v => v);
                break;
            case Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Double:
                Fill(MemoryMarshal.Cast<byte, double>(destination), contents.Fp64Contents, v => v);
                break;
            default:
                throw new NotSupportedException($"datatype {type.Name} has no typed contents path");
        }
    }

    /// <summary>The typed field each served datatype travels in (OIP: INT8/16/32 share int_contents, UINT8/16/32 uint_contents).</summary>
    public static string FieldOf(TensorType type) => type.Name switch
    {
        "BOOL" => "bool_contents",
        "INT8" or "INT16" or "INT32" => "int_contents",
        "INT64" => "int64_contents",
        "UINT8" or "UINT16" or "UINT32" => "uint_contents",
        "UINT64" => "uint64_contents",
        "FP32" => "fp32_contents",
        "FP64" => "fp64_contents",
        "BYTES" => "bytes_contents",
        _ => throw new NotSupportedException($"datatype {type.Name} has no typed contents field"),
    };

    private static (long Min, long Max) RangeOf(TensorType type) => type.Name switch
    {
        "INT8" => (sbyte.MinValue, sbyte.MaxValue),
        "INT16" => (short.MinValue, short.MaxValue),
        "UINT8" => (0, byte.MaxValue),
        "UINT16" => (0, ushort.MaxValue),
        "UINT32" => (0, uint.MaxValue),
        _ => (int.MinValue, int.MaxValue),
    };

    private IEnumerable<(string Field, int Count)> Counts()
    {
        yield return ("bool_contents", contents.BoolContents.Count);
        yield return ("int_contents", contents.IntContents.Count);
        yield return ("int64_contents", contents.Int64Contents.Count);
        yield return ("uint_contents", contents.UintContents.Count);
        yield return ("uint64_contents", contents.Uint64Contents.Count);
        yield return ("fp32_contents", contents.Fp32Contents.Count);
        yield return ("fp64_contents", contents.Fp64Contents.Count);
        yield return ("bytes_contents", contents.BytesContents.Count);
    }

    private static void Fill<TSource, TTarget>(Span<TTarget> destination, IReadOnlyList<TSource> source, Func<TSource, TTarget> convert)
    {
        for (var i = 0; i < source.Count; i++)
        {
            destination[i] = convert(source[i]);
        }
    }
}

/// <summary>Writes outputs into the typed contents of a response.</summary>
internal static class TypedOutput
{
    public static InferTensorContents From(InferOutput output)
    {
        var c = new InferTensorContents();
        var d = output.Data.Span;
        switch (output.Type.Name)
        {
            case "BOOL": foreach (var b in d) { c.BoolContents.Add(b != 0); } break;
            case "INT8": foreach (var v in MemoryMarshal.Cast<byte, sbyte>(d)) { c.IntContents.Add(v); } break;
            case "INT16": foreach (var v in MemoryMarshal.Cast<byte, short>(d)) { c.IntContents.Add(v); } break;
            case "INT32": c.IntContents.AddRange(MemoryMarshal.Cast<byte, int>(d).ToArray()); break;
            case "INT64": c.Int64Contents.AddRange(MemoryMarshal.Cast<byte, long>(d).ToArray()); break;
            case "UINT8": foreach (var v in d) { c.UintContents.Add(v); } break;
            case "UINT16": foreach (var v in MemoryMarshal.Cast<byte, ushort>(d)) { c.UintContents.Add(v); } break;
            case "UINT32": c.UintContents.AddRange(MemoryMarshal.Cast<byte, uint>(d).ToArray()); break;
            case "UINT64": c.Uint64Contents.AddRange(MemoryMarshal.Cast<byte, ulong>(d).ToArray()); break;
            case "FP32": c.Fp32Contents.AddRange(MemoryMarshal.Cast<byte, float>(d).ToArray()); break;
            case "FP64": c.Fp64Contents.AddRange(MemoryMarshal.Cast<byte, double>(d).ToArray()); break;
            case "BYTES": foreach (var e in BytesElements.Split(output.Data)) { c.BytesContents.Add(ByteString.CopyFrom(e.Span)); } break;
            default: throw new NotSupportedException($"datatype {output.Type.Name} has no typed contents path");
        }
        return c;
    }
}
