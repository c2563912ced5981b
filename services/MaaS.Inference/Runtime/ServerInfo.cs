using System.Globalization;
using System.Reflection;

namespace MaaS.Inference.Runtime;

/// <summary>What ServerMetadata and GET /v2 say about this server and its models.</summary>
public static class ServerInfo
{
    /// <summary>Server name.</summary>
    public const string Name = "maas-inference";

    /// <summary>Server version: the assembly's informational version without the source revision.</summary>
    public static string Version { get; } =
        (typeof(ServerInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    /// <summary>
    /// Extensions really implemented: Triton's model_repository (index, load, unload), binary_tensor_data (REST
    /// infer) and statistics. Shared memory and the rest are not, so they are not claimed.
    /// </summary>
    public static IReadOnlyList<string> Extensions { get; } = ["model_repository", "binary_tensor_data", "statistics"];

    /// <summary>Platform reported for every model.</summary>
    public const string Platform = "onnxruntime_onnx";

    /// <summary>
    /// ModelMetadata properties of a loaded version: where it runs and how requests are batched
    /// (execution_provider, max_batch_size, dynamic_batching on|off, and the batching settings when on).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Properties(LoadedModel model)
    {
        var b = model.Batching;
        var properties = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["execution_provider"] = model.Provider,
            // What is in effect: batching configured on a model without a batch dimension (or with BYTES) stays off.
            ["max_batch_size"] = (model.BatchesRequests ? b.MaxBatchSize : 0).ToString(CultureInfo.InvariantCulture),
            ["dynamic_batching"] = model.BatchesRequests ? "on" : "off",
        };
        if (model.BatchesRequests)
        {
            properties["max_queue_delay_microseconds"] = ((long)b.MaxQueueDelay.TotalMicroseconds).ToString(CultureInfo.InvariantCulture);
            properties["preferred_batch_size"] = string.Join(",", b.PreferredBatchSizes);
            properties["instances"] = b.Instances.ToString(CultureInfo.InvariantCulture);
            properties["max_queue_size"] = b.MaxQueueSize.ToString(CultureInfo.InvariantCulture);
        }
        return properties;
    }
}
