using Microsoft.ML.OnnxRuntime.Tensors;

namespace MaaS.Inference.Runtime;

/// <summary>
/// An Open Inference Protocol datatype this server carries, with its ONNX element type and wire size
/// (0 for BYTES, whose elements are variable-length strings).
/// </summary>
public sealed record TensorType(string Name, TensorElementType Element, int ElementSize)
{
    /// <summary>BYTES: elements of any length, carried as ONNX string tensors.</summary>
    public bool IsBytes => Element == TensorElementType.String;

    /// <summary>FP16 and BF16 have no typed contents field: they travel raw only.</summary>
    public bool RawOnly => Element is TensorElementType.Float16 or TensorElementType.BFloat16;
}

/// <summary>
/// The datatypes served: every fixed-size one moves as little-endian elements, so one copy path covers
/// raw bytes and typed contents; BYTES moves as strings (raw: 4-byte little-endian length + bytes).
/// </summary>
public static class TensorTypes
{
    /// <summary>BOOL, one byte 0 or 1.</summary>
    public static readonly TensorType Bool = new("BOOL", TensorElementType.Bool, 1);
    /// <summary>UINT8.</summary>
    public static readonly TensorType UInt8 = new("UINT8", TensorElementType.UInt8, 1);
    /// <summary>INT8.</summary>
    public static readonly TensorType Int8 = new("INT8", TensorElementType.Int8, 1);
    /// <summary>UINT16.</summary>
    public static readonly TensorType UInt16 = new("UINT16", TensorElementType.UInt16, 2);
    /// <summary>INT16.</summary>
    public static readonly TensorType Int16 = new("INT16", TensorElementType.Int16, 2);
    /// <summary>UINT32.</summary>
    public static readonly TensorType UInt32 = new("UINT32", TensorElementType.UInt32, 4);
    /// <summary>INT32.</summary>
    public static readonly TensorType Int32 = new("INT32", TensorElementType.Int32, 4);
    /// <summary>UINT64.</summary>
    public static readonly TensorType UInt64 = new("UINT64", TensorElementType.UInt64, 8);
    /// <summary>INT64.</summary>
    public static readonly TensorType Int64 = new("INT64", TensorElementType.Int64, 8);
    /// <summary>FP16 (IEEE half), raw only.</summary>
    public static readonly TensorType Fp16 = new("FP16", TensorElementType.Float16, 2);
    /// <summary>BF16 (bfloat16), raw only.</summary>
    public static readonly TensorType Bf16 = new("BF16", TensorElementType.BFloat16, 2);
    /// <summary>FP32.</summary>
    public static readonly TensorType Fp32 = new("FP32", TensorElementType.Float, 4);
    /// <summary>FP64.</summary>
    public static readonly TensorType Fp64 = new("FP64", TensorElementType.Double, 8);
    /// <summary>BYTES: ONNX string tensors, elements of any bytes.</summary>
    public static readonly TensorType Bytes = new("BYTES", TensorElementType.String, 0);

    /// <summary>Every served datatype.</summary>
    public static IReadOnlyList<TensorType> All { get; } = [Bool, UInt8, Int8, UInt16, Int16, UInt32, Int32, UInt64, Int64, Fp16, Bf16, Fp32, Fp64, Bytes];

    /// <summary>The served datatype names, for error sentences.</summary>
    public static string Names { get; } = string.Join(", ", All.Select(t => t.Name));

    private static readonly Dictionary<TensorElementType, TensorType> ByElement = All.ToDictionary(t => t.Element);

    /// <summary>The served datatype for an ONNX element type, or null.</summary>
    public static TensorType? FromElement(TensorElementType element) => ByElement.GetValueOrDefault(element);

    /// <summary>The OIP name of an ONNX element type, served or not (for messages).</summary>
    public static string OipName(TensorElementType element) => FromElement(element)?.Name ?? element.ToString();
}
