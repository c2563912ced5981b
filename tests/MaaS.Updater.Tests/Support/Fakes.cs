using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MaaS.Updater.Drift;
using MaaS.Updater.Rollout;
using MaaS.Updater.V1;

namespace MaaS.Updater.Tests.Support;

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock : TimeProvider
{
    /// <summary>Now.</summary>
    public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>A drift monitor answering what the test says.</summary>
public sealed class FakeDriftMonitor : IDriftMonitor
{
    /// <summary>The next answer.</summary>
    public DriftResult? Result { get; set; }

    /// <summary>Checks asked for.</summary>
    public int Calls { get; private set; }

    /// <inheritdoc />
    public Task<DriftResult?> CheckAsync(string model, long championVersion, DriftRule rule, CancellationToken ct)
    {
        Calls++;
        return Task.FromResult(Result);
    }
}

/// <summary>A rollout manager that records what it was asked to start.</summary>
public sealed class FakeRolloutManager : IRolloutManager
{
    /// <summary>Starts asked for.</summary>
    public List<(string Model, long Champion, long Challenger, RolloutPlan Plan, string Reason, string CorrelationId)> Started { get; } = [];

    /// <summary>When set, StartAsync throws it.</summary>
    public RpcException? Refuse { get; set; }

    private V1.Rollout? current;

    /// <inheritdoc />
    public Task<V1.Rollout> StartAsync(string model, long championVersion, long challengerVersion, RolloutPlan plan, string reason, string correlationId, CancellationToken ct)
    {
        if (Refuse is not null) throw Refuse;
        Started.Add((model, championVersion, challengerVersion, plan, reason, correlationId));
        current = new V1.Rollout
        {
            Id = $"rollout-{Started.Count}", ModelName = model, ChampionVersion = championVersion, ChallengerVersion = challengerVersion,
            Plan = plan, State = "canary", Step = 0, ChallengerPercent = plan.CanarySteps[0], StartedAt = Timestamp.FromDateTime(DateTime.UtcNow),
        };
        return Task.FromResult(current);
    }

    /// <inheritdoc />
    public V1.Rollout? Current(string model) => current?.ModelName == model ? current : null;

    /// <inheritdoc />
    public Task<V1.Rollout> AdvanceAsync(string model, CancellationToken ct) => throw new NotSupportedException();

    /// <inheritdoc />
    public Task<V1.Rollout> AbortAsync(string model, string reason, CancellationToken ct) => throw new NotSupportedException();

    /// <inheritdoc />
    public Task<V1.Rollout> RollbackAsync(string model, string reason, CancellationToken ct) => throw new NotSupportedException();
}
