using Inference;
using MaaS.Inference.Runtime;

namespace MaaS.Inference.Services;

/// <summary>Triton's ModelConfig of a loaded version, from what the replica knows about it.</summary>
public static class GrpcModelConfig
{
    /// <summary>Backend reported for every model: every version runs on ONNX Runtime.</summary>
    public const string Backend = "onnxruntime";

    /// <summary>
    /// The configuration of <paramref name="model"/>: max_batch_size is what is in effect (batching configured on
    /// a model that cannot be batched stays off, as ModelMetadata's properties say); when it is above 0 the dims
    /// leave out the batch dimension, as Triton's do. -1 marks a dynamic dimension.
    /// </summary>
    public static ModelConfig From(LoadedModel model, VersionPolicy policy)
    {
        var batching = model.BatchesRequests ? model.Batching : null;
        var config = new ModelConfig
        {
            Name = model.Model,
            Platform = ServerInfo.Platform,
            Backend = Backend,
            MaxBatchSize = batching?.MaxBatchSize ?? 0,
            VersionPolicy = ToProto(policy),
        };
        var skip = batching is null ? 0 : 1;
        foreach (var input in model.Signature.Inputs)
        {
            var proto = new ModelInput { Name = input.Name, DataType = ToDataType(input.Type) };
            proto.Dims.AddRange(input.Shape.Skip(skip));
            config.Input.Add(proto);
        }
        foreach (var output in model.Signature.Outputs)
        {
            var proto = new ModelOutput { Name = output.Name, DataType = ToDataType(output.Type) };
            proto.Dims.AddRange(output.Shape.Skip(skip));
            config.Output.Add(proto);
        }
        if (batching is not null)
        {
            var dynamic = new ModelDynamicBatching { MaxQueueDelayMicroseconds = (ulong)batching.MaxQueueDelay.TotalMicroseconds };
            dynamic.PreferredBatchSize.AddRange(batching.PreferredBatchSizes);
            config.DynamicBatching = dynamic;
        }
        config.InstanceGroup.Add(new ModelInstanceGroup
        {
            Name = $"{model.Model}_0",
            // With batching, the batches that may run at once; without, each request runs on the one session.
            Count = batching?.Instances ?? 1,
            Kind = model.Provider.StartsWith("CUDA", StringComparison.Ordinal) ? ModelInstanceGroup.Types.Kind.Gpu : ModelInstanceGroup.Types.Kind.Cpu,
        });
        return config;
    }

    /// <summary>Triton's TYPE_* of an Open Inference Protocol datatype (BYTES is TYPE_STRING).</summary>
    public static DataType ToDataType(TensorType type) => type.Name switch
    {
        "BOOL" => DataType.TypeBool,
        "UINT8" => DataType.TypeUint8,
        "UINT16" => DataType.TypeUint16,
        "UINT32" => DataType.TypeUint32,
        "UINT64" => DataType.TypeUint64,
        "INT8" => DataType.TypeInt8,
        "INT16" => DataType.TypeInt16,
        "INT32" => DataType.TypeInt32,
        "INT64" => DataType.TypeInt64,
        "FP16" => DataType.TypeFp16,
        "FP32" => DataType.TypeFp32,
        "FP64" => DataType.TypeFp64,
        "BYTES" => DataType.TypeString,
        "BF16" => DataType.TypeBf16,
        _ => DataType.TypeInvalid,
    };

    private static ModelVersionPolicy ToProto(VersionPolicy policy)
    {
        var proto = new ModelVersionPolicy();
        switch (policy.Kind)
        {
            case VersionPolicyKind.Latest:
                proto.Latest = new ModelVersionPolicy.Types.Latest { NumVersions = (uint)Math.Max(0, policy.Latest) };
                break;
            case VersionPolicyKind.Specific:
                proto.Specific = new ModelVersionPolicy.Types.Specific();
                proto.Specific.Versions.AddRange(policy.Specific);
                break;
            default:
                proto.All = new ModelVersionPolicy.Types.All();
                break;
        }
        return proto;
    }
}
