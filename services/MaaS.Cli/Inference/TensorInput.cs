using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Inference;
using MaaS.Cli.Framework;

namespace MaaS.Cli.Inference;

/// <summary>
/// One input tensor of `maas infer`, from `name=shape:datatype:values` (e.g. x=4,1:FP32:0,1,2,3) or a JSON object
/// {"name","shape","datatype","data"}; checked completely before anything is sent.
/// </summary>
public sealed record TensorInput(string Name, string Datatype, long[] Shape, IReadOnlyList<string> Values)
{
    /// <summary>The datatypes `maas infer` can send (FP16/BF16 need raw bytes and are left to real clients).</summary>
    public static readonly string[] Datatypes = ["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP32", "FP64", "BYTES"];

    /// <summary>Parses every --input value (a spec, a JSON object, or a JSON array of objects).</summary>
    public static List<TensorInput> ParseAll(IEnumerable<string> inputs)
    {
        var parsed = new List<TensorInput>();
        foreach (var text in inputs)
        {
            var trimmed = text.Trim();
            if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
            {
                parsed.AddRange(ParseJson(trimmed));
            }
            else
            {
                parsed.Add(ParseSpec(trimmed));
            }
        }
        if (parsed.Count == 0) throw new UsageException("give at least one --input name=shape:datatype:values, e.g. --input x=4,1:FP32:0,1,2,3");
        var duplicate = parsed.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new UsageException($"--input names '{duplicate.Key}' twice");
        return parsed;
    }

    /// <summary>Parses `name=shape:datatype:values`.</summary>
    public static TensorInput ParseSpec(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var parts = equals > 0 ? text[(equals + 1)..].Split(':', 3) : [];
        if (parts.Length != 3)
        {
            throw new UsageException($"--input '{text}' must be name=shape:datatype:values, e.g. x=4,1:FP32:0,1,2,3");
        }
        var shape = parts[0].Trim().Trim('[', ']').Split([',', 'x', 'X'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(d => long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out var dim)
                ? dim
                : throw new UsageException($"--input '{text}': shape dimension '{d}' is not a whole number >= 0"))
            .ToArray();
        var values = parts[2].Trim().Trim('[', ']').Split(',', StringSplitOptions.TrimEntries);
        if (values is [""]) values = [];
        return Checked(text[..equals].Trim(), parts[1].Trim().ToUpperInvariant(), shape, values, text);
    }

    private static IEnumerable<TensorInput> ParseJson(string text)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new UsageException($"--input is not valid JSON: {ex.Message}");
        }
        var objects = node switch
        {
            JsonArray array => array.ToList(),
            JsonObject single => [single],
            _ => throw new UsageException("--input JSON must be an object or an array of objects"),
        };
        foreach (var item in objects)
        {
            if (item is not JsonObject tensor) throw new UsageException("--input JSON: every tensor must be an object {\"name\",\"shape\",\"datatype\",\"data\"}");
            var name = Text(tensor, "name");
            var datatype = Text(tensor, "datatype").ToUpperInvariant();
            var shape = (tensor["shape"] as JsonArray ?? throw new UsageException($"--input JSON tensor '{name}': \"shape\" must be an array"))
                .Select(d => d is JsonValue v && v.TryGetValue<long>(out var dim) && dim >= 0
                    ? dim
                    : throw new UsageException($"--input JSON tensor '{name}': shape dimensions must be whole numbers >= 0"))
                .ToArray();
            var data = tensor["data"] ?? throw new UsageException($"--input JSON tensor '{name}': \"data\" is missing");
            yield return Checked(name, datatype, shape, Flatten(data).ToList(), name);
        }
    }

    private static string Text(JsonObject tensor, string field) =>
        tensor[field] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0
            ? s
            : throw new UsageException($"--input JSON: every tensor needs a \"{field}\" string");

    private static IEnumerable<string> Flatten(JsonNode node) => node switch
    {
        JsonArray array => array.SelectMany(n => n is null ? ["null"] : Flatten(n)),
        JsonValue value when value.TryGetValue<string>(out var s) => [s],
        _ => [node.ToJsonString()],
    };

    private static TensorInput Checked(string name, string datatype, long[] shape, IReadOnlyList<string> values, string what)
    {
        if (name.Length == 0) throw new UsageException($"--input '{what}': the tensor needs a name");
        if (!Datatypes.Contains(datatype)) throw new UsageException($"--input '{what}': datatype must be one of {string.Join(", ", Datatypes)}, not '{datatype}'");
        if (shape.Length == 0) throw new UsageException($"--input '{what}': the shape needs at least one dimension");
        var elements = shape.Aggregate(1L, (a, b) => a * b);
        if (elements != values.Count)
        {
            throw new UsageException($"--input '{what}': shape [{string.Join(',', shape)}] holds {elements} values, but {values.Count} {(values.Count == 1 ? "was" : "were")} given");
        }
        var input = new TensorInput(name, datatype, shape, values);
        input.ToContents();
        return input;
    }

    /// <summary>The typed contents of the gRPC request; a value that does not fit the datatype is a usage error.</summary>
    public InferTensorContents ToContents()
    {
        var contents = new InferTensorContents();
        foreach (var value in Values)
        {
            switch (Datatype)
            {
                case "BOOL": contents.BoolContents.Add(ParseBool(value)); break;
                case "INT8": contents.IntContents.Add((int)Whole(value, sbyte.MinValue, sbyte.MaxValue)); break;
                case "INT16": contents.IntContents.Add((int)Whole(value, short.MinValue, short.MaxValue)); break;
                case "INT32": contents.IntContents.Add((int)Whole(value, int.MinValue, int.MaxValue)); break;
                case "INT64": contents.Int64Contents.Add((long)Whole(value, long.MinValue, long.MaxValue)); break;
                case "UINT8": contents.UintContents.Add((uint)Whole(value, 0, byte.MaxValue)); break;
                case "UINT16": contents.UintContents.Add((uint)Whole(value, 0, ushort.MaxValue)); break;
                case "UINT32": contents.UintContents.Add((uint)Whole(value, 0, uint.MaxValue)); break;
                case "UINT64": contents.Uint64Contents.Add((ulong)Whole(value, 0, ulong.MaxValue)); break;
                case "FP32": contents.Fp32Contents.Add((float)Real(value)); break;
                case "FP64": contents.Fp64Contents.Add(Real(value)); break;
                case "BYTES": contents.BytesContents.Add(ByteString.CopyFromUtf8(value)); break;
            }
        }
        return contents;
    }

    /// <summary>The gRPC input tensor.</summary>
    public ModelInferRequest.Types.InferInputTensor ToGrpc() => new() { Name = Name, Datatype = Datatype, Shape = { Shape }, Contents = ToContents() };

    /// <summary>The REST (OIP JSON) input tensor.</summary>
    public JsonObject ToJson()
    {
        var data = new JsonArray();
        foreach (var value in Values)
        {
            data.Add(Datatype switch
            {
                "BOOL" => JsonValue.Create(ParseBool(value)),
                "BYTES" => JsonValue.Create(value),
                "FP32" or "FP64" => JsonValue.Create(Real(value)),
                "UINT64" => JsonValue.Create((ulong)Whole(value, 0, ulong.MaxValue)),
                _ => JsonValue.Create((long)Whole(value, long.MinValue, long.MaxValue)),
            });
        }
        return new JsonObject { ["name"] = Name, ["shape"] = new JsonArray(Shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()), ["datatype"] = Datatype, ["data"] = data };
    }

    private bool ParseBool(string value) => value.ToLowerInvariant() switch
    {
        "true" or "1" => true,
        "false" or "0" => false,
        _ => throw new UsageException($"--input {Name}: '{value}' is not a BOOL (true, false, 1 or 0)"),
    };

    private decimal Whole(string value, decimal min, decimal max) =>
        decimal.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max
            ? number
            : throw new UsageException($"--input {Name}: '{value}' is not a {Datatype} (a whole number from {min} to {max})");

    private double Real(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new UsageException($"--input {Name}: '{value}' is not a number");

    /// <summary>The values of an output tensor as text, from its typed contents or its raw bytes.</summary>
    public static List<string> Decode(string datatype, InferTensorContents? contents, ByteString? raw)
    {
        if (raw is { Length: > 0 }) return DecodeRaw(datatype, raw.Span);
        if (contents is null) return [];
        IEnumerable<string> values = datatype switch
        {
            "BOOL" => contents.BoolContents.Select(b => b ? "true" : "false"),
            "INT8" or "INT16" or "INT32" => contents.IntContents.Select(v => v.ToString(CultureInfo.InvariantCulture)),
            "INT64" => contents.Int64Contents.Select(v => v.ToString(CultureInfo.InvariantCulture)),
            "UINT8" or "UINT16" or "UINT32" => contents.UintContents.Select(v => v.ToString(CultureInfo.InvariantCulture)),
            "UINT64" => contents.Uint64Contents.Select(v => v.ToString(CultureInfo.InvariantCulture)),
            "FP32" => contents.Fp32Contents.Select(v => Output.Number(v)),
            "FP64" => contents.Fp64Contents.Select(Output.Number),
            "BYTES" => contents.BytesContents.Select(b => b.ToStringUtf8()),
            _ => [],
        };
        return values.ToList();
    }

    private static List<string> DecodeRaw(string datatype, ReadOnlySpan<byte> bytes)
    {
        var values = new List<string>();
        var size = datatype switch
        {
            "BOOL" or "INT8" or "UINT8" => 1,
            "INT16" or "UINT16" or "FP16" or "BF16" => 2,
            "INT32" or "UINT32" or "FP32" => 4,
            "INT64" or "UINT64" or "FP64" => 8,
            _ => 0,
        };
        if (datatype == "BYTES")
        {
            while (bytes.Length >= 4)
            {
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes);
                if (length < 0 || length > bytes.Length - 4) break;
                values.Add(Encoding.UTF8.GetString(bytes.Slice(4, length)));
                bytes = bytes[(4 + length)..];
            }
            return values;
        }
        for (var offset = 0; size > 0 && offset + size <= bytes.Length; offset += size)
        {
            var item = bytes.Slice(offset, size);
            values.Add(datatype switch
            {
                "BOOL" => item[0] != 0 ? "true" : "false",
                "INT8" => ((sbyte)item[0]).ToString(CultureInfo.InvariantCulture),
                "UINT8" => item[0].ToString(CultureInfo.InvariantCulture),
                "INT16" => BinaryPrimitives.ReadInt16LittleEndian(item).ToString(CultureInfo.InvariantCulture),
                "UINT16" => BinaryPrimitives.ReadUInt16LittleEndian(item).ToString(CultureInfo.InvariantCulture),
                "FP16" => Output.Number((double)BinaryPrimitives.ReadHalfLittleEndian(item)),
                "BF16" => Output.Number(BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(item) << 16)),
                "INT32" => BinaryPrimitives.ReadInt32LittleEndian(item).ToString(CultureInfo.InvariantCulture),
                "UINT32" => BinaryPrimitives.ReadUInt32LittleEndian(item).ToString(CultureInfo.InvariantCulture),
                "FP32" => Output.Number(BinaryPrimitives.ReadSingleLittleEndian(item)),
                "INT64" => BinaryPrimitives.ReadInt64LittleEndian(item).ToString(CultureInfo.InvariantCulture),
                "UINT64" => BinaryPrimitives.ReadUInt64LittleEndian(item).ToString(CultureInfo.InvariantCulture),
                _ => Output.Number(BinaryPrimitives.ReadDoubleLittleEndian(item)),
            });
        }
        return values;
    }
}
