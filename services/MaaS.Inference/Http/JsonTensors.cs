using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MaaS.Inference.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MaaS.Inference.Http;

/// <summary>
/// An input sent as JSON <c>data</c>, flat or nested arrays in row-major order. Counted and type-checked
/// element by element before the tensor is allocated; floats also take "NaN", "Infinity" and "-Infinity".
/// </summary>
internal sealed class JsonInputData(JsonElement data) : InputData
{
    public override string? Check(TensorCheck tensor)
    {
        if (tensor.Type.RawOnly)
        {
            return $"Input '{tensor.Name}' is {tensor.Type.Name}, which travels as raw bytes only; JSON data cannot carry it (use gRPC raw_input_contents).";
        }
        long count = 0;
        string? problem = null;
        Walk(data, e =>
        {
            if (count >= tensor.Elements)
            {
                problem = $"Input '{tensor.Name}' has more than {tensor.Elements} values in data but its shape {tensor.ShapeText} needs {tensor.Elements}.";
                return false;
            }
            if (!IsValid(tensor.Type, e))
            {
                problem = $"Input '{tensor.Name}' holds {Shorten(e.GetRawText())} at element {count}, which is not a {tensor.Type.Name} value.";
                return false;
            }
            count++;
            return true;
        });
        if (problem is null && count != tensor.Elements)
        {
            problem = $"Input '{tensor.Name}' has {count} values in data but its shape {tensor.ShapeText} needs {tensor.Elements}.";
        }
        return problem;
    }

    public override void CopyTo(TensorType type, Span<byte> destination)
    {
        var index = 0;
        CopyLeaves(data, type, destination, ref index);
    }

    public override void CopyStringsTo(OrtValue tensor, int firstElement)
    {
        var index = firstElement;
        Walk(data, e =>
        {
            tensor.StringTensorSetElementAt(e.GetString().AsSpan(), index++);
            return true;
        });
    }

    private static void CopyLeaves(JsonElement element, TensorType type, Span<byte> destination, ref int index)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            Write(type, destination, index++, element);
            return;
        }
        foreach (var child in element.EnumerateArray())
        {
            CopyLeaves(child, type, destination, ref index);
        }
    }

    private static bool Walk(JsonElement element, Func<JsonElement, bool> leaf)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            return leaf(element);
        }
        foreach (var child in element.EnumerateArray())
        {
            if (!Walk(child, leaf))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsValid(TensorType type, JsonElement e)
    {
        switch (type.Element)
        {
            case TensorElementType.String:
                return e.ValueKind == JsonValueKind.String;
            case TensorElementType.Bool:
                return e.ValueKind is JsonValueKind.True or JsonValueKind.False;
            case TensorElementType.Float:
            case TensorElementType.Double:
                return (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out _)) || NamedFloat(e) is not null;
            case TensorElementType.UInt8:
            case TensorElementType.UInt16:
            case TensorElementType.UInt32:
            case TensorElementType.UInt64:
                return e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out var u) && u <= UnsignedMax(type.Element);
            default:
                if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out var v))
                {
                    return false;
                }
                var (min, max) = SignedRange(type.Element);
                return v >= min && v <= max;
        }
    }

    private static void Write(TensorType type, Span<byte> d, int i, JsonElement e)
    {
        switch (type.Element)
        {
            case TensorElementType.Bool: d[i] = e.ValueKind == JsonValueKind.True ? (byte)1 : (byte)0; break;
            case TensorElementType.Int8: MemoryMarshal.Cast<byte, sbyte>(d)[i] = (sbyte)e.GetInt64(); break;
            case TensorElementType.Int16: MemoryMarshal.Cast<byte, short>(d)[i] = (short)e.GetInt64(); break;
            case TensorElementType.Int32: MemoryMarshal.Cast<byte, int>(d)[i] = (int)e.GetInt64(); break;
            case TensorElementType.Int64: MemoryMarshal.Cast<byte, long>(d)[i] = e.GetInt64(); break;
            case TensorElementType.UInt8: d[i] = (byte)e.GetUInt64(); break;
            case TensorElementType.UInt16: MemoryMarshal.Cast<byte, ushort>(d)[i] = (ushort)e.GetUInt64(); break;
            case TensorElementType.UInt32: MemoryMarshal.Cast<byte, uint>(d)[i] = (uint)e.GetUInt64(); break;
            case TensorElementType.UInt64: MemoryMarshal.Cast<byte, ulong>(d)[i] = e.GetUInt64(); break;
            case TensorElementType.Float: MemoryMarshal.Cast<byte, float>(d)[i] = (float)(NamedFloat(e) ?? e.GetDouble()); break;
            case TensorElementType.Double: MemoryMarshal.Cast<byte, double>(d)[i] = NamedFloat(e) ?? e.GetDouble(); break;
            default: throw new NotSupportedException($"datatype {type.Name} has no JSON path");
        }
    }

    private static double? NamedFloat(JsonElement e) => e.ValueKind != JsonValueKind.String ? null : e.GetString() switch
    {
        "NaN" => double.NaN,
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        _ => null,
    };

    private static (long Min, long Max) SignedRange(TensorElementType t) => t switch
    {
        TensorElementType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
        TensorElementType.Int16 => (short.MinValue, short.MaxValue),
        TensorElementType.Int32 => (int.MinValue, int.MaxValue),
        _ => (long.MinValue, long.MaxValue),
    };

    private static ulong UnsignedMax(TensorElementType t) => t switch
    {
        TensorElementType.UInt8 => byte.MaxValue,
        TensorElementType.UInt16 => ushort.MaxValue,
        TensorElementType.UInt32 => uint.MaxValue,
        _ => ulong.MaxValue,
    };

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}

/// <summary>Writes output values as a flat JSON array.</summary>
internal static class JsonOutput
{
    public static void WriteData(Utf8JsonWriter w, InferOutput output)
    {
        var d = output.Data.Span;
        w.WriteStartArray();
        switch (output.Type.Element)
        {
            // BYTES elements are written as text (invalid UTF-8 becomes U+FFFD): JSON has no byte strings.
            case TensorElementType.String: foreach (var e in BytesElements.Split(output.Data)) { w.WriteStringValue(Encoding.UTF8.GetString(e.Span)); } break;
            case TensorElementType.Float16: foreach (var v in MemoryMarshal.Cast<byte, Half>(d)) { WriteFloat(w, (float)v); } break;
            case TensorElementType.BFloat16: foreach (var v in MemoryMarshal.Cast<byte, ushort>(d)) { WriteFloat(w, BitConverter.Int32BitsToSingle(v << 16)); } break;
            case TensorElementType.Bool: foreach (var b in d) { w.WriteBooleanValue(b != 0); } break;
            case TensorElementType.Int8: foreach (var v in MemoryMarshal.Cast<byte, sbyte>(d)) { w.WriteNumberValue(v); } break;
            case TensorElementType.Int16: foreach (var v in MemoryMarshal.Cast<byte, short>(d)) { w.WriteNumberValue(v); } break;
            case TensorElementType.Int32: foreach (var v in MemoryMarshal.Cast<byte, int>(d)) { w.WriteNumberValue(v); } break;
            case TensorElementType.Int64: foreach (var v in MemoryMarshal.Cast<byte, long>(d)) { w.WriteNumberValue(v); } break;
            case TensorElementType.UInt8: foreach (var v in d) { w.WriteNumberValue(v); } break;
            case TensorElementType.UInt16: foreach (var v in MemoryMarshal.Cast<byte, ushort>(d)) { w.WriteNumberValue(v); } break;
            case TensorElementType.UInt32: foreach (var v in MemoryMarshal.Cast<byte, uint>(d)) { w.WriteNumberValue(v); } break;
            case TensorElementType.UInt64: foreach (var v in MemoryMarshal.Cast<byte, ulong>(d)) { w.WriteNumberValue(v); } break;
            case TensorElementType.Float: foreach (var v in MemoryMarshal.Cast<byte, float>(d)) { WriteFloat(w, v); } break;
            case TensorElementType.Double: foreach (var v in MemoryMarshal.Cast<byte, double>(d)) { WriteFloat(w, v); } break;
            default: throw new NotSupportedException($"datatype {output.Type.Name} has no JSON path");
        }
        w.WriteEndArray();
    }

    // JSON has no NaN or infinities; they travel as the strings .NET's named floating-point literals use.
    private static void WriteFloat(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v))
        {
            w.WriteNumberValue(v);
        }
        else
        {
            w.WriteStringValue(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static void WriteFloat(Utf8JsonWriter w, float v)
    {
        if (float.IsFinite(v))
        {
            w.WriteNumberValue(v);
        }
        else
        {
            w.WriteStringValue(float.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        }
    }
}
