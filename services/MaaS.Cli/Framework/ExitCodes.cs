using Grpc.Core;

namespace MaaS.Cli.Framework;

/// <summary>The process exit codes, one per class of failure, so scripts can branch without parsing text.</summary>
public static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>Anything not covered below (an internal server error, a failed training job, a file that cannot be written).</summary>
    public const int Failure = 1;

    /// <summary>Malformed arguments, refused before any call.</summary>
    public const int Usage = 2;

    /// <summary>The server does not know the model, version, job, dataset, key or entry.</summary>
    public const int NotFound = 3;

    /// <summary>The server refused the request's values or the current state forbids it.</summary>
    public const int Invalid = 4;

    /// <summary>The gateway or a service behind it cannot be reached, or the deadline passed.</summary>
    public const int Unavailable = 5;

    /// <summary>No key, a wrong key, or a key without the scope the call needs.</summary>
    public const int Denied = 6;

    /// <summary>The usage text's table of the codes above.</summary>
    public const string Table = """
        exit codes: 0 ok · 1 other failure · 2 usage (malformed arguments, nothing called) · 3 not found ·
          4 invalid argument / failed precondition / out of range · 5 unavailable / deadline exceeded ·
          6 unauthenticated / permission denied
        """;

    /// <summary>The exit code of a gRPC status.</summary>
    public static int For(StatusCode status) => status switch
    {
        StatusCode.OK => Ok,
        StatusCode.NotFound => NotFound,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => Invalid,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => Unavailable,
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => Denied,
        _ => Failure,
    };

    /// <summary>The gRPC status a REST answer's HTTP status stands for (the gateway maps them the same way both ways).</summary>
    public static StatusCode StatusOf(int httpStatus) => httpStatus switch
    {
        400 or 422 => StatusCode.InvalidArgument,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.NotFound,
        409 => StatusCode.FailedPrecondition,
        429 => StatusCode.ResourceExhausted,
        501 => StatusCode.Unimplemented,
        502 or 503 => StatusCode.Unavailable,
        504 => StatusCode.DeadlineExceeded,
        _ => httpStatus is >= 200 and < 300 ? StatusCode.OK : StatusCode.Unknown,
    };
}
