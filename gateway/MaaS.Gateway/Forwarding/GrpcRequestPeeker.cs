using System.Buffers;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// The scan of a request's first frame and the body to forward in place of the original. The peeked
/// bytes live in <see cref="Prefix"/>, an array rented from the shared pool.
/// </summary>
public sealed record PeekedRequest(FrameScan Scan, ReplayStream Body, byte[] Prefix, int PrefixLength, Stream Rest);

/// <summary>Reads just enough of a gRPC request body to learn the model name and version.</summary>
public static class GrpcRequestPeeker
{
    // Enough for the frame header, the name and the version of every ordinary request in one read.
    private const int FirstRead = 4096;

    public static async Task<PeekedRequest> PeekAsync(Stream body, CancellationToken ct)
    {
        // Pooled: a new 4 KiB array per call was most of the gateway's own garbage.
        var buffer = ArrayPool<byte>.Shared.Rent(FirstRead);
        var count = 0;
        var end = false;
        while (true)
        {
            var scan = GrpcFrameScanner.Scan(buffer, count, end);
            if (scan.Status != FrameScanStatus.NeedMoreData)
            {
                return new PeekedRequest(scan, new ReplayStream(buffer, count, body), buffer, count, body);
            }
            if (count == buffer.Length)
            {
                // Grow geometrically; the scanner has already refused lengths above the message limit.
                buffer = Grow(buffer, count, buffer.Length * 2L);
            }
            var n = await body.ReadAsync(buffer.AsMemory(count), ct);
            end = n == 0;
            count += n;
        }
    }

    /// <summary>
    /// Reads the rest of the body after the peeked bytes when the whole body is at most
    /// <paramref name="limit"/> bytes: the result then owns the pooled array (the peeked one, or a larger
    /// one it moved to). A larger body comes back as a stream over what was read plus the unread rest
    /// (not rewindable), and Whole is null.
    /// </summary>
    public static async Task<(PooledBody? Whole, ReplayStream Stream)> ReadToEndAsync(PeekedRequest peeked, int limit, CancellationToken ct)
    {
        var buffer = peeked.Prefix;
        var count = peeked.PrefixLength;
        while (count <= limit)
        {
            if (count == buffer.Length)
            {
                buffer = Grow(buffer, count, Math.Min((long)limit + 1, buffer.Length * 2L));
            }
            var n = await peeked.Rest.ReadAsync(buffer.AsMemory(count), ct);
            if (n == 0)
            {
                return (new PooledBody(buffer, count), new ReplayStream(buffer, count, Stream.Null));
            }
            count += n;
        }
        // Over the limit: what was read goes first, the unread remainder follows from the original body.
        return (null, new ReplayStream(buffer, count, peeked.Rest));
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

    // A larger pooled array with the first count bytes copied over; the old one goes back to the pool.
    private static byte[] Grow(byte[] buffer, int count, long size)
    {
        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(size, Array.MaxLength));
        buffer.AsSpan(0, count).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }
}
