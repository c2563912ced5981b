using MaaS.Contracts;
using MaaS.Updater.V1;
using MassTransit;

namespace MaaS.Updater.Tests.Rollout;

/// <summary>TrafficObserved published on the (in-memory) bus reaches the running rollout's checks.</summary>
public sealed class TrafficObservedConsumerTests : IDisposable
{
    private readonly RolloutHost host = new();

    [Fact]
    public async Task Consume_FailingChallengerWindow_RollsBackOnNextTick()
    {
        host.Models.AddLinear("m", 1, 2, 1);
        host.Models.AddLinear("m", 2, 3, 1, production: false);
        host.Registry.Add("m", 1, 2);
        await host.Client.StartRolloutAsync(new StartRolloutRequest
        {
            ModelName = "m", Version = 2, Plan = new RolloutPlan { CanarySteps = { 10, 100 }, BakeSeconds = 30, AutoAdvance = true },
        });
        var bus = host.Get<IBus>();

        await bus.Publish(new TrafficObserved
        {
            ModelName = "m", Version = 2, Source = "gw", WindowStart = host.Clock.Now, WindowEnd = host.Clock.Now.AddSeconds(1),
            Requests = 10, Errors = 10, LatencyBuckets = new long[TrafficObserved.LatencyBoundsMs.Length + 1],
        });

        var until = DateTime.UtcNow.AddMinutes(1);
        while ((await host.Get()).State != "rolled_back")
        {
            Assert.True(DateTime.UtcNow < until, "the window was not counted within a minute");
            await Task.Delay(50);
            await host.Tick();
        }
        Assert.Equal("1@default:100", host.Registry.Current("m"));
    }

    /// <inheritdoc />
    public void Dispose() => host.Dispose();
}
