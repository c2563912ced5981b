namespace MaaS.Gateway.Forwarding;

/// <summary>
/// A request body whose first bytes were already read (to find the model name): it yields those bytes
/// again, then the rest of the original body, so the replica receives exactly what the client sent.
/// Unlike EnableBuffering it does not copy the rest of a large tensor body into a buffer or temp file.
/// It can go back to the start as long as nothing past the peeked bytes was read (used for a retry).
/// </summary>
public sealed class ReplayStream(byte[] prefix, int prefixLength, Stream rest) : Stream
{
    private int _position;
    private bool _restTouched;

    /// <summary>Goes back to the first byte; false when bytes past the prefix are already gone.</summary>
    public bool TryRewind()
    {
        if (_restTouched)
        {
            return false;
        }
        _position = 0;
        return true;
    }

    /// <summary>The whole body when it is held in memory (nothing follows the prefix).</summary>
    public ReadOnlyMemory<byte>? Buffered => ReferenceEquals(rest, Stream.Null) ? prefix.AsMemory(0, prefixLength) : null;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position < prefixLength)
        {
            return CopyPrefix(buffer.Span);
        }
        var n = await rest.ReadAsync(buffer, cancellationToken);
        // Reaching the end loses nothing, so the stream stays rewindable.
        _restTouched |= n > 0;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_position < prefixLength)
        {
            return CopyPrefix(buffer.AsSpan(offset, count));
        }
        var n = rest.Read(buffer, offset, count);
        _restTouched |= n > 0;
        return n;
    }

    private int CopyPrefix(Span<byte> destination)
    {
        var n = Math.Min(destination.Length, prefixLength - _position);
        prefix.AsSpan(_position, n).CopyTo(destination);
        _position += n;
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
