using Grpc.Core;
using MaaS.ServiceDefaults;
using MaaS.Updater.Rollout;
using MaaS.Updater.V1;

namespace MaaS.Updater.Services;

/// <summary>The rollout rpcs of maas.updater.v1.UpdaterService (StartRollout, GetRollout, AdvanceRollout, AbortRollout, RollbackRollout).</summary>
public sealed partial class UpdaterGrpcService
{
    /// <inheritdoc />
    public override async Task<StartRolloutResponse> StartRollout(StartRolloutRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        if (request.Version < 1) throw MeshErrors.InvalidArgument($"version must be a registered version number >= 1; got {request.Version}.");
        var ct = context.CancellationToken;
        // Without a plan of its own the request follows the model's policy; either way the manager validates it.
        var plan = request.Plan ?? store.GetPolicy(request.ModelName).Rollout
            ?? throw MeshErrors.InvalidArgument($"plan is required: the request has none and the policy of '{request.ModelName}' has no rollout plan.");
        RolloutManager.Validate(plan, request.Plan is null ? "policy.rollout" : "plan");
        var champion = await registry.GetChampionAsync(request.ModelName, ct);
        var reason = request.Reason.Trim().Length > 0 ? request.Reason.Trim() : "requested";
        var rollout = await rollouts.StartAsync(request.ModelName, champion.Version, request.Version, plan, reason,
            store.CorrelationOfChallenger(request.ModelName, request.Version), ct);
        return new StartRolloutResponse { Rollout = rollout };
    }

    /// <inheritdoc />
    public override Task<GetRolloutResponse> GetRollout(GetRolloutRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        var rollout = rollouts.Current(request.ModelName)
            ?? throw MeshErrors.NotFound($"Model '{request.ModelName}' has had no rollout.");
        return Task.FromResult(new GetRolloutResponse { Rollout = rollout });
    }

    /// <inheritdoc />
    public override async Task<AdvanceRolloutResponse> AdvanceRollout(AdvanceRolloutRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        return new AdvanceRolloutResponse { Rollout = await rollouts.AdvanceAsync(request.ModelName, context.CancellationToken) };
    }

    /// <inheritdoc />
    public override async Task<AbortRolloutResponse> AbortRollout(AbortRolloutRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        return new AbortRolloutResponse { Rollout = await rollouts.AbortAsync(request.ModelName, request.Reason, context.CancellationToken) };
    }

    /// <inheritdoc />
    public override async Task<RollbackRolloutResponse> RollbackRollout(RollbackRolloutRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        return new RollbackRolloutResponse { Rollout = await rollouts.RollbackAsync(request.ModelName, request.Reason, context.CancellationToken) };
    }
}
