namespace MaaS.Gateway.Forwarding;

/// <summary>The scan of a request's first frame and the body to forward in place of the original.</summary>
public sealed record PeekedRequest(FrameScan Scan, ReplayStream Body);

/// <summary>Reads just enough of a gRPC request body to learn the model name and version.</summary>
public static class GrpcRequestPeeker
{
    // Enough for the frame header, the name and the version of every ordinary request in one read.
    private const int FirstRead = 4096;

    public static async Task<PeekedRequest> PeekAsync(Stream body, CancellationToken ct)
    {
        var buffer = new byte[FirstRead];
        var count = 0;
        var end = false;
        while (true)
        {
            var scan = GrpcFrameScanner.Scan(buffer, count, end);
            if (scan.Status != FrameScanStatus.NeedMoreData)
            {
                return new PeekedRequest(scan, new ReplayStream(buffer, count, body));
            }
            if (count == buffer.Length)
            {
                // Grow geometrically; the scanner has already refused lengths above the message limit.
                Array.Resize(ref buffer, buffer.Length * 2);
            }
            var n = await body.ReadAsync(buffer.AsMemory(count), ct);
            end = n == 0;
            count += n;
        }
    }

    /// <summary>
    /// Reads the whole body into memory when it is at most <paramref name="limit"/> bytes, so that it can be
    /// sent again on a retry; a larger body is returned as a stream over what was read plus the rest (not rewindable).
    /// </summary>
    public static async Task<(ReplayStream Body, bool Buffered)> BufferAsync(ReplayStream body, int limit, CancellationToken ct)
    {
        var buffer = new byte[Math.Min(limit, 64 * 1024) + 1];
        var count = 0;
        while (count <= limit)
        {
            if (count == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min((long)limit + 1, buffer.Length * 2L));
            }
            var n = await body.ReadAsync(buffer.AsMemory(count), ct);
            if (n == 0)
            {
                return (new ReplayStream(buffer, count, Stream.Null), true);
            }
            count += n;
        }
        // Over the limit: what was read goes first, the unread remainder follows from the original body.
        return (new ReplayStream(buffer, count, body), false);
    }
}
