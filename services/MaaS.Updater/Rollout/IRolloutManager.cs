using MaaS.Updater.V1;

namespace MaaS.Updater.Rollout;

/// <summary>
/// Progressive rollouts of a challenger against the champion, driven through the registry's
/// deployments (the gateway splits traffic by them). One rollout per model at a time.
/// </summary>
public interface IRolloutManager
{
    /// <summary>
    /// Starts a rollout following <paramref name="plan"/>; FailedPrecondition when the model already has one
    /// running, InvalidArgument (naming the field) for an impossible plan.
    /// </summary>
    Task<V1.Rollout> StartAsync(string model, long championVersion, long challengerVersion, RolloutPlan plan,
        string reason, string correlationId, CancellationToken ct);

    /// <summary>The model's running or last rollout; null when it never had one.</summary>
    V1.Rollout? Current(string model);

    /// <summary>Moves a waiting rollout (auto_advance off) to its next step after the step's checks.</summary>
    Task<V1.Rollout> AdvanceAsync(string model, CancellationToken ct);

    /// <summary>Stops a running rollout; the champion takes all traffic again.</summary>
    Task<V1.Rollout> AbortAsync(string model, string reason, CancellationToken ct);

    /// <summary>Rolls back a completed rollout: production and traffic return to the former champion.</summary>
    Task<V1.Rollout> RollbackAsync(string model, string reason, CancellationToken ct);
}
