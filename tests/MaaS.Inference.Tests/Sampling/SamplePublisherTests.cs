using System.Collections.Concurrent;
using MaaS.Contracts;
using MaaS.Inference.Runtime;
using MaaS.Inference.Sampling;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaaS.Inference.Tests.Sampling;

/// <summary>The publisher on a real in-memory MassTransit bus with a handler that collects what arrives.</summary>
public sealed class SamplePublisherTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<InputsSampled> received = new();
    private IBusControl bus = null!;

    public async Task InitializeAsync()
    {
        bus = Bus.Factory.CreateUsingInMemory(cfg => cfg.ReceiveEndpoint("inputs-sampled-test", e => e.Handler<InputsSampled>(context =>
        {
            received.Enqueue(context.Message);
            return Task.CompletedTask;
        })));
        await bus.StartAsync();
    }

    public async Task DisposeAsync() => await bus.StopAsync();

    [Fact]
    public async Task PublishOnce_SampledRows_OneMessagePerVersionThenNothing()
    {
        var (sampler, publisher) = Create(intervalSeconds: 3600, capacity: 2);
        for (var i = 0; i < 5; i++)
        {
            sampler.Offer("m", 3, Check(1, 2), new FloatRows(i, -i));
        }

        Assert.Equal(1, await publisher.PublishOnceAsync(CancellationToken.None));
        Assert.Equal(0, await publisher.PublishOnceAsync(CancellationToken.None));

        await EventuallyAsync(() => !received.IsEmpty);
        var message = Assert.Single(received);
        Assert.Equal(("m", 3L, "replica-t", 5L, 2), (message.ModelName, message.Version, message.ReplicaId, message.RowsSeen, message.Rows.Count));
    }

    [Fact]
    public async Task Run_EveryInterval_PublishesWhatArrivedSince()
    {
        var (sampler, publisher) = Create(intervalSeconds: 1, capacity: 200);
        await publisher.StartAsync(CancellationToken.None);
        try
        {
            sampler.Offer("first", 1, Check(1, 1), new FloatRows(1));
            await EventuallyAsync(() => received.Any(m => m.ModelName == "first"));
            sampler.Offer("second", 1, Check(1, 1), new FloatRows(2));
            await EventuallyAsync(() => received.Any(m => m.ModelName == "second"));
        }
        finally
        {
            await publisher.StopAsync(CancellationToken.None);
        }

        Assert.Equal(1, received.Count(m => m.ModelName == "first"));
        Assert.Equal([[2.0]], received.Single(m => m.ModelName == "second").Rows);
    }

    private (InputSampler, SamplePublisher) Create(int intervalSeconds, int capacity)
    {
        var options = Options.Create(new InferenceOptions
        {
            ReplicaId = "replica-t",
            Sampling = new SamplingOptions { IntervalSeconds = intervalSeconds, MaxRowsPerInterval = capacity },
        });
        var sampler = new InputSampler(options, NullLogger<InputSampler>.Instance);
        return (sampler, new SamplePublisher(sampler, bus, options, NullLogger<SamplePublisher>.Instance));
    }

    private static TensorCheck Check(long rows, long features) => new("input", TensorTypes.Fp32, [rows, features], rows * features);

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for the published samples.");
            await Task.Delay(20);
        }
    }

    private sealed class FloatRows(params float[] values) : InputData
    {
        public override string? Check(TensorCheck tensor) => null;

        public override void CopyTo(TensorType type, Span<byte> destination) =>
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(destination);

        public override void CopyStringsTo(Microsoft.ML.OnnxRuntime.OrtValue tensor, int firstElement) => throw new NotSupportedException();
    }
}
