using Microsoft.ML.OnnxRuntime;

namespace MaaS.Inference.Runtime;

/// <summary>One input or output of a loaded model: name, datatype and shape (-1 = dynamic dimension).</summary>
public sealed record TensorInfo(string Name, TensorType Type, long[] Shape);

/// <summary>The inputs and outputs of a loaded model, read from the ONNX Runtime session.</summary>
public sealed class ModelSignature
{
    private ModelSignature(IReadOnlyList<TensorInfo> inputs, IReadOnlyList<TensorInfo> outputs)
    {
        Inputs = inputs;
        Outputs = outputs;
        InputsByName = inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        OutputsByName = outputs.ToDictionary(o => o.Name, StringComparer.Ordinal);
    }

    /// <summary>Inputs in the model's order.</summary>
    public IReadOnlyList<TensorInfo> Inputs { get; }

    /// <summary>Outputs in the model's order.</summary>
    public IReadOnlyList<TensorInfo> Outputs { get; }

    /// <summary>Inputs by name.</summary>
    public IReadOnlyDictionary<string, TensorInfo> InputsByName { get; }

    /// <summary>Outputs by name.</summary>
    public IReadOnlyDictionary<string, TensorInfo> OutputsByName { get; }

    /// <summary>Input names, for error sentences.</summary>
    public string InputNames => string.Join(", ", Inputs.Select(i => $"'{i.Name}'"));

    /// <summary>Output names, for error sentences.</summary>
    public string OutputNames => string.Join(", ", Outputs.Select(o => $"'{o.Name}'"));

    /// <summary>Reads the signature; a tensor this server cannot carry makes the whole model unservable.</summary>
    /// <exception cref="NotSupportedException">with a sentence naming the tensor and its type.</exception>
    public static ModelSignature FromSession(InferenceSession session)
    {
        return new ModelSignature(
            Read("input", session.InputNames, session.InputMetadata),
            Read("output", session.OutputNames, session.OutputMetadata));
    }

    private static List<TensorInfo> Read(string kind, IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata)
    {
        var list = new List<TensorInfo>(names.Count);
        foreach (var name in names)
        {
            var node = metadata[name];
            if (!node.IsTensor)
            {
                throw new NotSupportedException($"{kind} '{name}' is a {node.OnnxValueType}, not a tensor; this server serves tensors only.");
            }
            var type = TensorTypes.FromElement(node.ElementDataType)
                ?? throw new NotSupportedException(
                    $"{kind} '{name}' has datatype {TensorTypes.OipName(node.ElementDataType)}, which this server does not serve yet (served: {TensorTypes.Names}).");
            list.Add(new TensorInfo(name, type, node.Dimensions.Select(d => d < 0 ? -1L : d).ToArray()));
        }
        return list;
    }
}
