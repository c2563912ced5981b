using System.Reflection;

namespace MaaS.Inference.Runtime;

/// <summary>What ServerMetadata and GET /v2 say about this server.</summary>
public static class ServerInfo
{
    /// <summary>Server name.</summary>
    public const string Name = "maas-inference";

    /// <summary>Server version: the assembly's informational version without the source revision.</summary>
    public static string Version { get; } =
        (typeof(ServerInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    /// <summary>
    /// Extensions really implemented: Triton's model_repository (index, load, unload). Statistics,
    /// binary tensor data over REST, shared memory and the rest are not, so they are not claimed.
    /// </summary>
    public static IReadOnlyList<string> Extensions { get; } = ["model_repository"];

    /// <summary>Platform reported for every model.</summary>
    public const string Platform = "onnxruntime_onnx";
}
