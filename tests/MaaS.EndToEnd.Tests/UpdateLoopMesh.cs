namespace MaaS.EndToEnd.Tests;

/// <summary>
/// The whole mesh with the update loop's clocks shortened, so a scenario of drift, gates, canaries and a
/// rollback fits in minutes: inputs sampled every second, drift checked every second, traffic windows of
/// 250 ms from the gateway, the rollout driver and the trigger loop ticking several times a second.
/// </summary>
public class UpdateLoopMesh : MeshProcesses
{
    /// <inheritdoc />
    protected override IEnumerable<string> ExtraArgs(string service) => service switch
    {
        "updater" =>
        [
            "--Updater:TriggerTickMilliseconds=250",
            "--Updater:DriftCheckSeconds=1",
            "--Updater:Rollouts:TickMilliseconds=100",
        ],
        "inference-a" or "inference-b" => ["--Inference:Sampling:IntervalSeconds=1"],
        "gateway" => ["--Gateway:Traffic:IntervalMilliseconds=250", "--Gateway:PollIntervalMs=200"],
        _ => [],
    };
}
