using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;
using Microsoft.Extensions.Primitives;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// The lean path for a unary gRPC call whose whole request body is in memory (the model-routed OIP
/// calls): one HttpRequestMessage over the pooled body, sent on the shared HTTP/2 connections, and the
/// answer (status, headers, message, trailers) copied back by hand. It does what the YARP path does for
/// these calls — retry once on another replica when the connection fails or, for ModelInfer, when the
/// replica answers Unavailable without a message, within the caller's deadline — without YARP's
/// per-request machinery (transform pipeline, activity time-out, response-start deferral).
/// </summary>
public sealed partial class UnaryForwarder(ForwardingClient client, UpstreamFailures failures, ILogger<UnaryForwarder> logger)
{
    private const int MaxAttempts = 2;

    // Chunk size for copying an answer; a seed-model answer is about 60 bytes, tensors can be megabytes.
    private const int CopyChunk = 16 * 1024;

    // Request headers that describe one hop (RFC 9110 §7.6.1) or that the content or the gateway sets itself.
    private static readonly HashSet<string> SkippedRequestHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
        "content-length", "content-type", GatewayTransformer.ResolvedVersionHeader,
    };

    private static readonly HashSet<string> SkippedResponseHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
    };

    // One Uri per (replica address, path): parsing a URI per call is measurable at tens of thousands of calls a second.
    private readonly ConcurrentDictionary<(string Address, string Path), Uri> _uris = new();

    /// <summary>
    /// Sends <paramref name="body"/> to the first of <paramref name="destinations"/> (the next one on a
    /// retry) and writes its answer to the caller; on failure answers Unavailable itself.
    /// </summary>
    public async Task ForwardAsync(HttpContext context, IReadOnlyList<ReplicaOptions> destinations, ReadOnlyMemory<byte> body,
        long? resolvedVersion, bool retryUnavailable)
    {
        var attempts = Math.Min(MaxAttempts, destinations.Count);
        var deadline = attempts > 1 ? GrpcDeadline.From(context.Request) : null;
        var aborted = context.RequestAborted;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var replica = destinations[attempt];
            var mayRetry = attempt + 1 < attempts;
            using var request = BuildRequest(context.Request, replica, body, resolvedVersion);
            HttpResponseMessage response;
            try
            {
                response = await client.Invoker.SendAsync(request, aborted);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
            {
                if (aborted.IsCancellationRequested)
                {
                    return; // The client left; nobody is there to answer (and the replica is not to blame).
                }
                var connectFailure = failures.Failed(replica, ex, ex.Message);
                if (mayRetry && connectFailure && (deadline?.TrySetRemaining(context.Request) ?? true))
                {
                    failures.RetryingAfterConnectFailure(replica, destinations[attempt + 1], ex.Message);
                    continue;
                }
                LogForwardFailed(logger, replica.Name, context.Request.Path.Value ?? "", ex.Message);
                await GatewayResponses.WriteGrpcErrorAsync(context, StatusCode.Unavailable,
                    $"inference replica '{replica.Name}' could not be reached (Request)");
                return;
            }

            using (response)
            {
                var outcome = await CopyResponseAsync(context, response, retryUnavailable && mayRetry, replica);
                if (outcome == CopyOutcome.RetryUnavailable)
                {
                    if (!aborted.IsCancellationRequested && (deadline?.TrySetRemaining(context.Request) ?? true))
                    {
                        failures.RetryingAfterUnavailable(replica, destinations[attempt + 1]);
                        continue;
                    }
                    // No time left for another try: the replica's own answer goes back as it is.
                    await CopyResponseAsync(context, response, retryUnavailable: false, replica);
                }
                return;
            }
        }
    }

    private enum CopyOutcome
    {
        Done,
        RetryUnavailable,
    }

    private HttpRequestMessage BuildRequest(HttpRequest incoming, ReplicaOptions replica, ReadOnlyMemory<byte> body, long? resolvedVersion)
    {
        var path = incoming.Path.Value ?? "/";
        var uri = _uris.GetOrAdd((replica.GrpcAddress, path), static key => new Uri(new Uri(key.Address), key.Path));
        var content = new ReadOnlyMemoryContent(body);
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        foreach (var (name, values) in incoming.Headers)
        {
            if (name.Length == 0 || name[0] == ':' || SkippedRequestHeaders.Contains(name))
            {
                continue;
            }
            if (values.Count == 1)
            {
                headers.TryAddWithoutValidation(name, values[0]);
            }
            else
            {
                headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }
        // gRPC requires it, and the incoming copy was skipped with the other hop-by-hop headers.
        headers.TryAddWithoutValidation("te", "trailers");
        if (incoming.ContentType is { } contentType)
        {
            content.Headers.TryAddWithoutValidation("content-type", contentType);
        }
        if (resolvedVersion is { } version)
        {
            headers.TryAddWithoutValidation(GatewayTransformer.ResolvedVersionHeader, version.ToString(CultureInfo.InvariantCulture));
        }
        return request;
    }

    /// <summary>
    /// Copies the replica's answer to the caller. With <paramref name="retryUnavailable"/>, an answer of
    /// Unavailable that carries no message is not copied, so the call can go to another replica.
    /// </summary>
    private async Task<CopyOutcome> CopyResponseAsync(HttpContext context, HttpResponseMessage response, bool retryUnavailable, ReplicaOptions replica)
    {
        var aborted = context.RequestAborted;
        var buffer = ArrayPool<byte>.Shared.Rent(CopyChunk);
        try
        {
            Stream? stream = null;
            int n;
            try
            {
                stream = await response.Content.ReadAsStreamAsync(aborted);
                n = await stream.ReadAsync(buffer, aborted);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
            {
                return await FailAsync(context, replica, ex);
            }
            if (n == 0 && retryUnavailable && GrpcStatusOf(response) == StatusCode.Unavailable)
            {
                return CopyOutcome.RetryUnavailable;
            }

            var httpResponse = context.Response;
            httpResponse.StatusCode = (int)response.StatusCode;
            CopyHeaders(response.Headers.NonValidated, httpResponse.Headers);
            CopyHeaders(response.Content.Headers.NonValidated, httpResponse.Headers);

            // Written without a flush per chunk: for a unary answer Kestrel then sends headers, message and
            // trailers together when the call ends; large answers are flushed every few chunks.
            var writer = httpResponse.BodyWriter;
            var unflushed = 0;
            try
            {
                while (n > 0)
                {
                    writer.Write(buffer.AsSpan(0, n));
                    unflushed += n;
                    if (unflushed >= 4 * CopyChunk)
                    {
                        await writer.FlushAsync(aborted);
                        unflushed = 0;
                    }
                    n = await stream.ReadAsync(buffer, aborted);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
            {
                return await FailAsync(context, replica, ex);
            }

            if (response.TrailingHeaders.NonValidated.Count > 0
                && context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseTrailersFeature>()?.Trailers is { IsReadOnly: false } trailers)
            {
                CopyHeaders(response.TrailingHeaders.NonValidated, trailers);
            }
            return CopyOutcome.Done;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<CopyOutcome> FailAsync(HttpContext context, ReplicaOptions replica, Exception ex)
    {
        if (!context.RequestAborted.IsCancellationRequested)
        {
            GatewayMetrics.UpstreamError(replica.Name);
            LogForwardFailed(logger, replica.Name, context.Request.Path.Value ?? "", ex.Message);
            // Before the answer started this is a clean Unavailable; after it, the stream is reset.
            await GatewayResponses.WriteGrpcErrorAsync(context, StatusCode.Unavailable,
                $"inference replica '{replica.Name}' could not be reached (ResponseBody)");
        }
        return CopyOutcome.Done;
    }

    private static void CopyHeaders(HttpHeadersNonValidated from, IHeaderDictionary to)
    {
        foreach (var (name, values) in from)
        {
            if (SkippedResponseHeaders.Contains(name))
            {
                continue;
            }
            if (values.Count == 1)
            {
                to[name] = values.ToString();
                continue;
            }
            var all = new string[values.Count];
            var i = 0;
            foreach (var value in values)
            {
                all[i++] = value;
            }
            to[name] = new StringValues(all);
        }
    }

    /// <summary>The gRPC status of an answer (trailers, else trailers-only headers); null when it has none.</summary>
    private static StatusCode? GrpcStatusOf(HttpResponseMessage response)
    {
        if (!response.TrailingHeaders.NonValidated.TryGetValues("grpc-status", out var values)
            && !response.Headers.NonValidated.TryGetValues("grpc-status", out values))
        {
            return null;
        }
        return int.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            && Enum.IsDefined(typeof(StatusCode), number)
            ? (StatusCode)number
            : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forwarding {Path} to replica {Replica} failed: {Reason}")]
    private static partial void LogForwardFailed(ILogger logger, string replica, string path, string reason);
}
