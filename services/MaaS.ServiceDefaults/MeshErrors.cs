using Grpc.Core;

namespace MaaS.ServiceDefaults;

/// <summary>
/// The gRPC statuses a caller can act on, each with a sentence naming the field and the rule.
/// Internal is thrown on purpose only by <see cref="ModelFailed"/>; anywhere else it means a bug.
/// </summary>
public static class MeshErrors
{
    /// <summary>A field breaks a rule.</summary>
    public static RpcException InvalidArgument(string sentence) => new(new Status(StatusCode.InvalidArgument, sentence));

    /// <summary>Something named does not exist.</summary>
    public static RpcException NotFound(string sentence) => new(new Status(StatusCode.NotFound, sentence));

    /// <summary>The name is taken.</summary>
    public static RpcException AlreadyExists(string sentence) => new(new Status(StatusCode.AlreadyExists, sentence));

    /// <summary>The system is not in the state the request needs.</summary>
    public static RpcException FailedPrecondition(string sentence) => new(new Status(StatusCode.FailedPrecondition, sentence));

    /// <summary>A size or count limit.</summary>
    public static RpcException ResourceExhausted(string sentence) => new(new Status(StatusCode.ResourceExhausted, sentence));

    /// <summary>
    /// A served model failed while running inputs that passed validation: a fault of that model version,
    /// not of the request (Internal, so that rollouts count it against the version and roll it back).
    /// </summary>
    public static RpcException ModelFailed(string sentence) => new(new Status(StatusCode.Internal, sentence));

    /// <summary>A dependency cannot be reached now; retrying may work.</summary>
    public static RpcException Unavailable(string sentence) => new(new Status(StatusCode.Unavailable, sentence));
}
