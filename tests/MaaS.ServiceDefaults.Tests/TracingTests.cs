using System.Diagnostics;
using MaaS.Contracts;
using MaaS.ServiceDefaults.Outbox;
using MaaS.ServiceDefaults.Telemetry;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;

namespace MaaS.ServiceDefaults.Tests;

/// <summary>Tracing: off unless configured; when on, one trace crosses the bus and the outbox.</summary>
public sealed class TracingTests
{
    private static readonly Dictionary<string, string?> Traced = new() { ["Telemetry:Enabled"] = "true" };

    [Fact]
    public async Task Tracing_NothingConfigured_RegistersNoTracerAndNoExporter()
    {
        await using var app = await TestApp.StartAsync();

        Assert.Null(app.Services.GetService<TracerProvider>());
        Assert.False(app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.Tracing);
    }

    [Fact]
    public async Task Tracing_OtlpEndpointSet_RegistersTheTracer()
    {
        await using var app = await TestApp.StartAsync(new Dictionary<string, string?> { ["Telemetry:OtlpEndpoint"] = "http://127.0.0.1:4317" });

        Assert.NotNull(app.Services.GetService<TracerProvider>());
    }

    [Fact]
    public async Task Tracing_OtlpEndpointNotAnAddress_RefusesToStartWithASentence()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestApp.StartAsync(new Dictionary<string, string?> { ["Telemetry:OtlpEndpoint"] = "collector:4317" }));

        Assert.Contains("Telemetry:OtlpEndpoint must be an absolute http(s) address", ex.Message);
    }

    [Fact]
    public async Task Publish_InsideATrace_ConsumerRunsInTheSameTrace()
    {
        await using var app = await TestApp.StartAsync(Traced);
        var correlation = $"bus-{Guid.NewGuid():N}";
        var arrival = TraceProbeConsumer.ArrivalOf(correlation);

        string traceId;
        using (var caller = Traces.StartCaller())
        {
            traceId = caller.TraceId.ToHexString();
            await app.Services.GetRequiredService<IBus>().Publish(new DataIngested { CorrelationId = correlation, ModelName = "m" });
        }

        Assert.Equal(traceId, await arrival);
    }

    [Fact]
    public async Task Outbox_EventWrittenInsideACall_IsPublishedLaterInThatCallsTrace()
    {
        var store = new MemoryOutboxStore();
        await using var app = await TestApp.StartAsync(Traced, services =>
        {
            services.AddSingleton<IOutboxStore>(store);
            services.AddOutbox();
        });
        var correlation = $"outbox-{Guid.NewGuid():N}";
        var arrival = TraceProbeConsumer.ArrivalOf(correlation);

        string traceId;
        using (var caller = Traces.StartCaller())
        {
            traceId = caller.TraceId.ToHexString();
            store.Write(new DataIngested { CorrelationId = correlation, ModelName = "m" });
        }
        // The dispatcher publishes on its own loop, where no activity of the call is current.
        app.Services.GetRequiredService<OutboxSignal>().Notify();

        Assert.Equal(traceId, await arrival);
    }

    [Fact]
    public async Task Outbox_EventForAConsumedCorrelation_IsPublishedInTheConsumedTrace()
    {
        var store = new MemoryOutboxStore();
        await using var app = await TestApp.StartAsync(Traced, services =>
        {
            services.AddSingleton<IOutboxStore>(store);
            services.AddOutbox();
        });
        var correlation = $"consumed-{Guid.NewGuid():N}";
        var first = TraceProbeConsumer.ArrivalOf(correlation);

        // A command arrives in a trace (as TrainModel reaches the trainer) ...
        string traceId;
        using (var caller = Traces.StartCaller())
        {
            traceId = caller.TraceId.ToHexString();
            await app.Services.GetRequiredService<IBus>().Publish(new DataIngested { CorrelationId = correlation, ModelName = "m" });
        }
        Assert.Equal(traceId, await first);

        // ... and later, from a background worker with no activity, an event for the same correlation id is written.
        var follow = $"{correlation}-follow";
        var second = TraceProbeConsumer.ArrivalOf(follow);
        Assert.Null(Activity.Current);
        Assert.True(CorrelationTraces.TryGet(correlation, out var remembered));
        Assert.Equal(traceId, remembered.TraceId.ToHexString());
        using (CorrelationTraces.StartActivity("worker", correlation))
        {
            store.Write(new DataIngested { CorrelationId = follow, ModelName = "m" });
        }
        app.Services.GetRequiredService<OutboxSignal>().Notify();

        Assert.Equal(traceId, await second);
    }
}

/// <summary>An outbox in memory: rows written with the same serializer the SQL outboxes use.</summary>
public sealed class MemoryOutboxStore : IOutboxStore
{
    private readonly List<(OutboxMessage Row, bool Sent)> rows = [];

    /// <summary>Adds a message as a service's transaction would.</summary>
    public void Write(MeshMessage message)
    {
        var (type, payload) = OutboxMessages.Serialize(message);
        lock (rows) rows.Add((new OutboxMessage(rows.Count + 1, type, payload), false));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<OutboxMessage>> ReadUnsentAsync(int limit, CancellationToken cancellationToken)
    {
        lock (rows) return Task.FromResult<IReadOnlyList<OutboxMessage>>(rows.Where(r => !r.Sent).Take(limit).Select(r => r.Row).ToList());
    }

    /// <inheritdoc />
    public Task MarkSentAsync(long id, DateTimeOffset sentAt, CancellationToken cancellationToken)
    {
        lock (rows)
        {
            var i = rows.FindIndex(r => r.Row.Id == id);
            rows[i] = (rows[i].Row, true);
        }
        return Task.CompletedTask;
    }
}
