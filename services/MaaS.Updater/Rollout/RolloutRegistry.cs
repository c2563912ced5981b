using Grpc.Core;
using MaaS.Registry.V1;

namespace MaaS.Updater.Rollout;

/// <summary>The registry calls a rollout makes: versions, the production alias and the model's deployment.</summary>
public interface IRolloutRegistry
{
    /// <summary>One version; NotFound for an unknown model or version.</summary>
    Task<ModelVersion> GetVersionAsync(string model, long version, CancellationToken ct);

    /// <summary>The version behind the production alias; 0 when none.</summary>
    Task<long> GetProductionAsync(string model, CancellationToken ct);

    /// <summary>The model's deployment; null when it has none or the registry keeps no deployments.</summary>
    Task<Deployment?> GetDeploymentAsync(string model, CancellationToken ct);

    /// <summary>Sets the model's deployment (no new revision when it is already so).</summary>
    Task SetDeploymentAsync(string model, IReadOnlyList<DeploymentEntry> entries, ShadowTarget? shadow, string reason, CancellationToken ct);

    /// <summary>Moves the production alias.</summary>
    Task SetProductionAsync(string model, long version, string reason, CancellationToken ct);
}

/// <summary>The registry over gRPC; the updater acts as actor "updater".</summary>
public sealed class RolloutRegistry(RegistryService.RegistryServiceClient client) : IRolloutRegistry
{
    /// <summary>The actor the registry records for the updater's changes.</summary>
    public const string Actor = "updater";

    /// <summary>The alias every client's default version follows.</summary>
    public const string Production = "production";

    // A registry that hangs must not hold a rollout's driver (and its rollback) for long.
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    public async Task<ModelVersion> GetVersionAsync(string model, long version, CancellationToken ct) =>
        (await client.GetVersionAsync(new GetVersionRequest { ModelName = model, Version = version }, deadline: Deadline(), cancellationToken: ct)).Version;

    /// <inheritdoc />
    public async Task<long> GetProductionAsync(string model, CancellationToken ct)
    {
        var found = (await client.GetModelAsync(new GetModelRequest { Name = model }, deadline: Deadline(), cancellationToken: ct)).Model;
        return found.Aliases.TryGetValue(Production, out var version) ? version : 0;
    }

    /// <inheritdoc />
    public async Task<Deployment?> GetDeploymentAsync(string model, CancellationToken ct)
    {
        try
        {
            var deployment = (await client.GetDeploymentAsync(new GetDeploymentRequest { ModelName = model }, deadline: Deadline(), cancellationToken: ct)).Deployment;
            return deployment is { Entries.Count: > 0 } ? deployment : null;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unimplemented or StatusCode.NotFound)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task SetDeploymentAsync(string model, IReadOnlyList<DeploymentEntry> entries, ShadowTarget? shadow, string reason, CancellationToken ct)
    {
        var request = new SetDeploymentRequest { ModelName = model, Shadow = shadow, Actor = Actor, Reason = reason };
        request.Entries.AddRange(entries);
        await client.SetDeploymentAsync(request, deadline: Deadline(), cancellationToken: ct);
    }

    /// <inheritdoc />
    public async Task SetProductionAsync(string model, long version, string reason, CancellationToken ct) =>
        await client.SetAliasAsync(new SetAliasRequest { ModelName = model, Alias = Production, Version = version, Reason = reason, Actor = Actor },
            deadline: Deadline(), cancellationToken: ct);

    private static DateTime Deadline() => DateTime.UtcNow + CallDeadline;
}
