using Grpc.Core;
using MaaS.ServiceDefaults;
using Microsoft.Extensions.Logging.Abstractions;

namespace MaaS.ServiceDefaults.Tests;

/// <summary>What a caller reads when a handler ends with an exception instead of a status.</summary>
public sealed class ErrorInterceptorTests
{
    private readonly ErrorInterceptor interceptor = new(NullLogger<ErrorInterceptor>.Instance);

    [Fact]
    public async Task Unary_CancelledAfterItsDeadline_DeadlineExceeded()
    {
        var context = new CallContext(DateTime.UtcNow.AddMilliseconds(-1), cancelled: true);

        var error = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler<string, string>("x", context, Cancelled));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal("The call's deadline passed before it finished.", error.Status.Detail);
    }

    [Fact]
    public async Task Unary_CancelledBeforeItsDeadline_Cancelled()
    {
        var context = new CallContext(DateTime.UtcNow.AddMinutes(1), cancelled: true);

        var error = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler<string, string>("x", context, Cancelled));

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
    }

    [Fact]
    public async Task DuplexStream_CancelledAfterItsDeadline_DeadlineExceeded()
    {
        var context = new CallContext(DateTime.UtcNow.AddMilliseconds(-1), cancelled: true);

        var error = await Assert.ThrowsAsync<RpcException>(() => interceptor.DuplexStreamingServerHandler<string, string>(
            null!, null!, context, (_, _, c) => throw new OperationCanceledException(c.CancellationToken)));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
    }

    [Fact]
    public async Task Unary_UnexpectedException_InternalWithoutItsMessage()
    {
        var context = new CallContext(DateTime.MaxValue, cancelled: false);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            interceptor.UnaryServerHandler<string, string>("x", context, (_, _) => throw new InvalidOperationException("secret detail")));

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.DoesNotContain("secret detail", error.Status.Detail);
    }

    private static Task<string> Cancelled(string request, ServerCallContext context) => throw new OperationCanceledException(context.CancellationToken);

    private sealed class CallContext(DateTime deadline, bool cancelled) : ServerCallContext
    {
        protected override string MethodCore => "/test.Service/Call";
        protected override string HostCore => "localhost";
        protected override string PeerCore => "ipv4:127.0.0.1:1";
        protected override DateTime DeadlineCore => deadline;
        protected override Metadata RequestHeadersCore { get; } = [];
        protected override CancellationToken CancellationTokenCore { get; } = new(cancelled);
        protected override Metadata ResponseTrailersCore { get; } = [];
        protected override Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore { get; } = new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
