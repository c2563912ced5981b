using MaaS.ServiceDefaults;
using MaaS.Updater.V1;

namespace MaaS.Updater.Rollout;

/// <summary>Placeholder until progressive rollouts land.</summary>
public sealed class RolloutManager : IRolloutManager
{
    public Task<V1.Rollout> StartAsync(string model, long championVersion, long challengerVersion, RolloutPlan plan, string reason, string correlationId, CancellationToken ct) =>
        throw MeshErrors.FailedPrecondition("Progressive rollouts are not available yet.");

    public V1.Rollout? Current(string model) => null;

    public Task<V1.Rollout> AdvanceAsync(string model, CancellationToken ct) => throw MeshErrors.FailedPrecondition("Progressive rollouts are not available yet.");

    public Task<V1.Rollout> AbortAsync(string model, string reason, CancellationToken ct) => throw MeshErrors.FailedPrecondition("Progressive rollouts are not available yet.");

    public Task<V1.Rollout> RollbackAsync(string model, string reason, CancellationToken ct) => throw MeshErrors.FailedPrecondition("Progressive rollouts are not available yet.");
}
