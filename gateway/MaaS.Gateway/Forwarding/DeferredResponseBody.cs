using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// Holds back the start of the response (YARP flushes the headers before the body) until the first byte
/// of a message is written, so that an answer with no message (such as a trailers-only Unavailable) can
/// still be cleared and the request retried on another replica. Once a byte is written, everything
/// passes straight through.
/// </summary>
public sealed class DeferredResponseBody : Stream, IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _inner;
    private readonly PipeWriter _writer;
    private bool _committed;

    public DeferredResponseBody(IHttpResponseBodyFeature inner)
    {
        _inner = inner;
        _writer = PipeWriter.Create(this, new StreamPipeWriterOptions(leaveOpen: true));
    }

    /// <summary>Puts the response's own body feature back.</summary>
    public void Restore(HttpContext context) => context.Features.Set(_inner);

    public Stream Stream => this;

    public PipeWriter Writer => _writer;

    public void DisableBuffering() => _inner.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) =>
        _committed ? _inner.StartAsync(cancellationToken) : Task.CompletedTask;

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        await CommitAsync(cancellationToken);
        await _inner.SendFileAsync(path, offset, count, cancellationToken);
    }

    public async Task CompleteAsync()
    {
        await _writer.FlushAsync();
        // Uncommitted: the server finishes the response itself at the end of the request.
        if (_committed)
        {
            await _inner.CompleteAsync();
        }
    }

    private async ValueTask CommitAsync(CancellationToken cancellationToken)
    {
        if (!_committed)
        {
            _committed = true;
            await _inner.StartAsync(cancellationToken);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0)
        {
            return;
        }
        await CommitAsync(cancellationToken);
        await _inner.Stream.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _committed ? _inner.Stream.FlushAsync(cancellationToken) : Task.CompletedTask;

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
