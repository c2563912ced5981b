using System.Diagnostics;
using System.Globalization;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// The caller's deadline from its grpc-timeout header, so that a retry is only made while time remains
/// and tells the next replica the time that is left rather than the original budget.
/// </summary>
public sealed class GrpcDeadline(long startTimestamp, TimeSpan timeout)
{
    private const string Header = "grpc-timeout";

    /// <summary>The deadline of this request; null when the caller set none.</summary>
    public static GrpcDeadline? From(HttpRequest request) =>
        TryParse(request.Headers[Header].ToString(), out var timeout) ? new GrpcDeadline(Stopwatch.GetTimestamp(), timeout) : null;

    /// <summary>Rewrites grpc-timeout to the time left; false when none is left.</summary>
    public bool TrySetRemaining(HttpRequest request)
    {
        var left = timeout - Stopwatch.GetElapsedTime(startTimestamp);
        if (left <= TimeSpan.FromMilliseconds(1))
        {
            return false;
        }
        request.Headers[Header] = ((long)left.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "m";
        return true;
    }

    /// <summary>Parses "{1-8 digits}{H|M|S|m|u|n}" as the gRPC HTTP/2 protocol defines it.</summary>
    public static bool TryParse(string value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length is < 2 or > 9
            || !long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }
        double? ticks = value[^1] switch
        {
            'H' => amount * (double)TimeSpan.TicksPerHour,
            'M' => amount * (double)TimeSpan.TicksPerMinute,
            'S' => amount * (double)TimeSpan.TicksPerSecond,
            'm' => amount * (double)TimeSpan.TicksPerMillisecond,
            'u' => amount * 10.0,
            'n' => amount / 100.0,
            _ => null,
        };
        if (ticks is not { } t)
        {
            return false;
        }
        timeout = TimeSpan.FromTicks((long)Math.Min(t, TimeSpan.MaxValue.Ticks));
        return true;
    }
}
