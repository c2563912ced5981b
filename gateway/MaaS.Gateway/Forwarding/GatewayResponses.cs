using System.Text;
using Grpc.Core;

namespace MaaS.Gateway.Forwarding;

/// <summary>Errors the gateway answers itself, in the form each protocol's clients understand.</summary>
public static class GatewayResponses
{
    /// <summary>True for a gRPC call (content-type application/grpc or application/grpc+proto ...).</summary>
    public static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A trailers-only gRPC response: HTTP 200 with the status in the headers and no body, which every
    /// gRPC client reads as the call's final status.
    /// </summary>
    public static Task WriteGrpcErrorAsync(HttpContext context, StatusCode code, string message)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            // Headers are gone: the only honest signal left is to reset the stream.
            context.Abort();
            return Task.CompletedTask;
        }
        response.Clear();
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = PercentEncode(message);
        return Task.CompletedTask;
    }

    /// <summary>A REST error as the OIP REST API writes it: {"error": "..."}.</summary>
    public static Task WriteRestErrorAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return Task.CompletedTask;
        }
        context.Response.Clear();
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new RestError(message));
    }

    /// <summary>gRPC's grpc-message encoding: printable ASCII except '%' as is, every other UTF-8 byte as %XX.</summary>
    public static string PercentEncode(string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        var builder = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return builder.ToString();
    }

    private sealed record RestError(string error);
}
