using Grpc.Core;
using MaaS.ServiceDefaults;
using MaaS.Updater.V1;

namespace MaaS.Updater.Services;

/// <summary>The rollout rpcs of maas.updater.v1.UpdaterService (StartRollout, GetRollout, AdvanceRollout, AbortRollout, RollbackRollout).</summary>
public sealed partial class UpdaterGrpcService
{
    /// <inheritdoc />
    public override Task<GetRolloutResponse> GetRollout(GetRolloutRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        var rollout = rollouts.Current(request.ModelName)
            ?? throw MeshErrors.NotFound($"Model '{request.ModelName}' has had no rollout.");
        return Task.FromResult(new GetRolloutResponse { Rollout = rollout });
    }
}
