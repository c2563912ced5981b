using System.Security.Cryptography;

namespace MaaS.Registry.Storage;

/// <summary>
/// Hands out a blob's bytes and, at the end, proves they hash to the blob's name: a read that reaches the
/// end of a blob whose bytes changed, or that ends early, throws <see cref="BlobCorruptedException"/>
/// instead of returning end-of-stream, so a caller never takes damaged bytes for a complete blob.
/// </summary>
/// <param name="inner">The stored bytes.</param>
/// <param name="digest">The blob's name, sha256 hex.</param>
/// <param name="size">The size the registry recorded.</param>
/// <param name="corrupted">Builds (and reports) the refusal from the digest and a sentence naming the problem.</param>
/// <param name="owner">Disposed with the stream (e.g. the HTTP response the bytes come from).</param>
internal sealed class VerifyingReadStream(Stream inner, string digest, long size,
    Func<string, string, BlobCorruptedException> corrupted, IDisposable? owner = null) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _read;
    private bool _verified;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => size;
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Account(buffer[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        Account(buffer.Span[..n]);
        return n;
    }

    private void Account(ReadOnlySpan<byte> data)
    {
        if (data.Length > 0)
        {
            _hash.AppendData(data);
            _read += data.Length;
            if (_read > size)
            {
                _verified = true;
                throw corrupted(digest, $"it holds more than the {size} bytes the registry recorded");
            }
            return;
        }
        if (_verified) return;
        _verified = true;
        if (_read != size)
        {
            throw corrupted(digest, $"{_read} bytes were read, the registry recorded {size}");
        }
        var actual = Digests.ToHex(_hash.GetHashAndReset());
        if (actual != digest)
        {
            throw corrupted(digest, $"its bytes hash to {actual}");
        }
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            owner?.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        owner?.Dispose();
        _hash.Dispose();
        await base.DisposeAsync();
    }
}
