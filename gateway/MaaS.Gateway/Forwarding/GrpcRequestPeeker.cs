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
}
