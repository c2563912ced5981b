using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using MaaS.Gateway.Routing;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// Copies a share of ModelInfer calls to a model's shadow version after the caller has its answer: the
/// copies wait on a bounded queue (dropped when it is full) and one background loop sends them; only the
/// outcome and latency are kept, in metrics. Nothing here can reach or delay the caller.
/// </summary>
public sealed partial class ShadowMirror(
    RoutingTable table,
    ForwardingClient client,
    IOptions<GatewayOptions> options,
    ILogger<ShadowMirror> logger) : BackgroundService
{
    private readonly record struct Copy(string Model, long Version, ReplicaOptions Replica, PooledBody Body);

    private readonly Channel<Copy> _queue = Channel.CreateBounded<Copy>(new BoundedChannelOptions(options.Value.ShadowQueueCapacity)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    /// <summary>The shadow version to copy this call to, drawn by the deployment's percent; null for none.</summary>
    public ShadowView? Draw(string model) =>
        table.Deployments.TryGetValue(model, out var deployment) && deployment.Shadow is { } shadow
            && Random.Shared.Next(100) < shadow.Percent
            ? shadow
            : null;

    /// <summary>
    /// Queues a copy, taking over <paramref name="body"/> (returned to the pool once sent or dropped); counts
    /// it as dropped when the queue is full or no replica has the version ready.
    /// </summary>
    public void Enqueue(string model, ShadowView shadow, PooledBody body)
    {
        var route = table.Resolve(model, shadow.Version.ToString(CultureInfo.InvariantCulture));
        if (route.Outcome != RouteOutcome.Found || route.Destinations.Count == 0)
        {
            body.Return();
            GatewayMetrics.Shadow(model, shadow.Version, "no_replica", null);
            return;
        }
        // TryWrite on a DropWrite channel reports success even when it drops, so check the room first.
        if (_queue.Reader.Count >= options.Value.ShadowQueueCapacity || !_queue.Writer.TryWrite(new Copy(model, shadow.Version, route.Destinations[0], body)))
        {
            body.Return();
            GatewayMetrics.Shadow(model, shadow.Version, "dropped", null);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var copy in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await SendAsync(copy, stoppingToken);
                }
                finally
                {
                    copy.Body.Return();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: queued copies are simply not sent.
        }
    }

    private async Task SendAsync(Copy copy, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        string outcome;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{copy.Replica.GrpcAddress.TrimEnd('/')}/{InferenceGrpcProxy.Service}/ModelInfer")
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new ReadOnlyMemoryContent(copy.Body.Memory),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            request.Headers.TryAddWithoutValidation("te", "trailers");
            request.Headers.TryAddWithoutValidation(GatewayTransformer.ResolvedVersionHeader, copy.Version.ToString(CultureInfo.InvariantCulture));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            using var response = await client.Invoker.SendAsync(request, timeout.Token);
            // The answer is read to the end (for the trailers) and thrown away.
            await response.Content.CopyToAsync(Stream.Null, timeout.Token);
            var status = response.TrailingHeaders.TryGetValues("grpc-status", out var t) ? t.FirstOrDefault()
                : response.Headers.TryGetValues("grpc-status", out var h) ? h.FirstOrDefault() : null;
            outcome = int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code)
                && Enum.IsDefined(typeof(Grpc.Core.StatusCode), code)
                ? ((Grpc.Core.StatusCode)code).ToString()
                : "error";
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            LogShadowFailed(logger, copy.Model, copy.Version, copy.Replica.Name, ex.Message);
            outcome = "error";
        }
        GatewayMetrics.Shadow(copy.Model, copy.Version, outcome, Stopwatch.GetElapsedTime(started));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shadow copy of {Model} v{Version} to replica {Replica} failed: {Reason}")]
    private static partial void LogShadowFailed(ILogger logger, string model, long version, string replica, string reason);
}
