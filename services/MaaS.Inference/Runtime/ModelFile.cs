using System.Globalization;
using MaaS.ServiceDefaults;

namespace MaaS.Inference.Runtime;

/// <summary>
/// One version's ONNX bytes from a RepositoryModelLoad file override (Triton's <c>file:&lt;version&gt;/model.onnx</c>),
/// loaded without the registry.
/// </summary>
public sealed record ModelFile(long Version, byte[] Onnx)
{
    /// <summary>The parameter name that carries the config JSON.</summary>
    public const string ConfigParameter = "config";

    private const string Prefix = "file:";
    private const string FileName = "/model.onnx";

    /// <summary>The parameter name of a version's file: <c>file:&lt;version&gt;/model.onnx</c>.</summary>
    public static string Key(long version) => $"{Prefix}{version.ToString(CultureInfo.InvariantCulture)}{FileName}";

    /// <summary>Whether a parameter name is a file override (well formed or not).</summary>
    public static bool IsFileParameter(string name) => name.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The version a file parameter names.</summary>
    /// <exception cref="Grpc.Core.RpcException">InvalidArgument when the name is not file:&lt;positive version&gt;/model.onnx.</exception>
    public static long VersionOf(string name)
    {
        var middle = name.EndsWith(FileName, StringComparison.Ordinal) ? name[Prefix.Length..^FileName.Length] : "";
        if (!long.TryParse(middle, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 1)
        {
            throw MeshErrors.InvalidArgument(
                $"Parameter '{name}' is not a file override this server takes; name it file:<version>/model.onnx with a positive version number.");
        }
        return version;
    }

    /// <summary>Refuses a parameter that is neither config nor a file override.</summary>
    public static Grpc.Core.RpcException UnknownParameter(string name) => MeshErrors.InvalidArgument(
        $"Parameter '{name}' is not taken; RepositoryModelLoad takes 'config' (Triton model configuration JSON) and 'file:<version>/model.onnx' (the ONNX bytes).");
}
