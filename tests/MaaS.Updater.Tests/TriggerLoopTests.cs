using MaaS.Contracts;
using MaaS.Updater.Storage;
using MaaS.Updater.Tests.Support;

namespace MaaS.Updater.Tests;

public sealed class TriggerLoopTests : IDisposable
{
    private readonly UpdaterHost host = new(loop: true);

    [Fact]
    public async Task Loop_Running_FiresScheduleByItself()
    {
        host.Registry.AddLinear("m", 1, 2, 1);
        await host.SetPolicy(p => p.RetrainIntervalSeconds = 600);
        var store = host.Get<UpdaterStore>();
        await Scenario.Eventually(() => Task.FromResult(store.GetTriggerState("m").ScheduleAnchor is not null));

        host.Clock.Now += TimeSpan.FromSeconds(601);
        // The trigger event is written when the training data is stored, after the retraining is reserved.
        await Scenario.Eventually(() => Task.FromResult(host.Events<RetrainTriggered>().Count > 0));

        Assert.Equal("schedule", Assert.Single(host.Events<RetrainTriggered>()).Rule);
    }

    public void Dispose() => host.Dispose();
}
