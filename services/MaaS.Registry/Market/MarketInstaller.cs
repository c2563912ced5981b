using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MaaS.Registry.Operations;
using MaaS.Registry.Storage;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace MaaS.Registry.Market;

/// <summary>
/// Copies a ready market model into the registry as version 1 of a named model, and with deploy also points
/// <c>production</c> at it and deploys it. Every step goes through <see cref="RegistryOperations"/>, the seams the
/// rpcs use, so an install is validated and emits ModelCreated, ModelVersionRegistered, AliasMoved and
/// DeploymentChanged exactly as the same calls made one by one would.
/// </summary>
public sealed partial class MarketInstaller(
    RegistryOperations operations,
    ModelStore models,
    DeploymentStore deployments,
    IOptions<RegistryOptions> registryOptions,
    ILogger<MarketInstaller> logger)
{
    /// <summary>Actor recorded when the caller names none.</summary>
    public const string DefaultActor = "market";

    /// <summary>Pool a deploying install uses unless Registry:Pools lists others.</summary>
    public const string DefaultPool = "default";

    /// <summary>Prefix of the lineage's training job id: the version came from the market, not from a job here.</summary>
    public const string LineagePrefix = "market:";

    /// <summary>Installs <paramref name="entry"/> (a ready model) as version 1 of <paramref name="modelName"/>.</summary>
    public async Task<InstallMarketModelResponse> InstallAsync(MarketCatalogEntry entry, string modelName, bool deploy, string actor,
        CancellationToken cancellationToken)
    {
        var card = entry.Card;
        actor = actor.Length == 0 ? DefaultActor : actor;
        var existing = await models.GetModelAsync(modelName, cancellationToken);
        if (existing is { LatestVersion: > 0 } && !await IsEarlierInstallAsync(modelName, existing, card, cancellationToken))
        {
            throw MeshErrors.FailedPrecondition(
                $"Model '{modelName}' already has versions (latest {existing.LatestVersion}); a market model is installed as version 1 of a new or empty model: choose another model_name.");
        }
        var artifact = await ReadArtifactAsync(entry, cancellationToken);

        await operations.EnsureModelAsync(new CreateModelRequest
        {
            Name = modelName,
            Description = Truncate($"{card.Title}. {card.IntendedUse}", 1000),
            Task = card.Task,
            Owner = actor,
            Tags = { card.Tags },
        }, cancellationToken);

        var manifest = new VersionManifest
        {
            ModelName = modelName,
            ArtifactDigest = card.ArtifactDigest,
            Inputs = { card.Inputs.Select(t => t.Clone()) },
            Outputs = { card.Outputs.Select(t => t.Clone()) },
            Metrics = { card.Metrics },
            Hyperparameters = { card.Hyperparameters },
            // No training job of this registry made it: the lineage names the market entry and the data it shipped with.
            Lineage = new Lineage { TrainingJobId = LineagePrefix + card.Name, DatasetDigest = entry.DataDigest },
            CreatedBy = actor,
            ModelCard = RenderCard(entry),
        };
        var version = await operations.RegisterVersionAsync(manifest, artifact, cancellationToken);
        var reason = $"installed from market entry '{card.Name}'";

        var response = new InstallMarketModelResponse { Version = version };
        if (deploy)
        {
            await operations.SetAliasAsync(new SetAliasRequest
            {
                ModelName = modelName, Alias = RegistryOperations.DefaultAlias, Version = version.Version, Actor = actor, Reason = reason,
            }, cancellationToken);
            response.ProductionSet = true;
            var deployed = await operations.SetDeploymentAsync(new SetDeploymentRequest
            {
                ModelName = modelName,
                Entries = { new DeploymentEntry { Version = version.Version, Pool = Pool(), Weight = 100 } },
                Actor = actor,
                Reason = reason,
            }, cancellationToken);
            response.DeploymentSet = true;
            response.Deployment = deployed.Deployment;
        }
        else
        {
            response.Deployment = await deployments.GetAsync(modelName, cancellationToken);
        }
        response.Model = await models.GetModelAsync(modelName, cancellationToken)
            ?? throw new InvalidOperationException($"Model '{modelName}' vanished right after the install.");
        LogInstalled(logger, card.Name, modelName, version.Version, deploy, actor);
        return response;
    }

    /// <summary>
    /// Whether the model's only version is this entry, installed before: an install that stopped after registering
    /// (alias or deployment not set) is then finished by running it again, and a finished one is answered as it is.
    /// The steps after this are idempotent: the version is found by its lineage, the same alias and deployment are no-ops.
    /// </summary>
    private async Task<bool> IsEarlierInstallAsync(string modelName, Model existing, MarketEntry card, CancellationToken cancellationToken) =>
        existing.LatestVersion == 1
        && await models.GetVersionAsync(modelName, 1, cancellationToken) is { } first
        && first.Lineage?.TrainingJobId == LineagePrefix + card.Name
        && first.ArtifactDigest == card.ArtifactDigest;

    /// <summary>
    /// The artifact as loaded at start: its bytes must still hash to the digest the catalog showed, so what is
    /// installed is what the card describes.
    /// </summary>
    private static async Task<byte[]> ReadArtifactAsync(MarketCatalogEntry entry, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(entry.ArtifactPath!, cancellationToken);
        }
        catch (IOException)
        {
            throw MeshErrors.FailedPrecondition(
                $"The artifact of market entry '{entry.Name}' can no longer be read at {entry.ArtifactPath}; restart the registry to reload the catalog.");
        }
        if (Convert.ToHexStringLower(SHA256.HashData(bytes)) != entry.Card.ArtifactDigest)
        {
            throw MeshErrors.FailedPrecondition(
                $"The artifact of market entry '{entry.Name}' changed on disk since the catalog was loaded; restart the registry to reload the catalog.");
        }
        return bytes;
    }

    // A deployment may only name configured pools when Registry:Pools lists them.
    private string Pool()
    {
        var pools = registryOptions.Value.Pools;
        return pools.Count == 0 || pools.Contains(DefaultPool) ? DefaultPool : pools[0];
    }

    /// <summary>The card as the markdown model card text of the installed version.</summary>
    public static string RenderCard(MarketCatalogEntry entry)
    {
        var card = entry.Card;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# {card.Title}\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Installed from market entry `{card.Name}` (task: {card.Task}; licence: {card.Licence}; tags: {string.Join(", ", card.Tags)}).\n\n");
        text.Append(CultureInfo.InvariantCulture, $"## Intended use\n\n{card.IntendedUse}\n\n");
        text.Append(CultureInfo.InvariantCulture, $"## Limits\n\n{card.Limits}\n\n");
        text.Append(CultureInfo.InvariantCulture, $"## Training data\n\n{card.TrainingData}\n");
        if (entry.DataDigest.Length > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"\nShipped as data.csv, sha256 `{entry.DataDigest}`.\n");
        }
        text.Append("\n## Signature\n\n");
        foreach (var (role, tensors) in new[] { ("input", card.Inputs), ("output", card.Outputs) })
        {
            foreach (var tensor in tensors)
            {
                text.Append(CultureInfo.InvariantCulture, $"- {role} `{tensor.Name}`: {tensor.Datatype} [{string.Join(", ", tensor.Shape)}]\n");
            }
        }
        text.Append("\n## Metrics\n\n");
        foreach (var (name, value) in card.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"- {name}: {value.ToString("R", CultureInfo.InvariantCulture)}\n");
        }
        text.Append("\n## Hyper-parameters\n\n");
        foreach (var (name, value) in card.Hyperparameters.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"- {name}: {value}\n");
        }
        return text.ToString();
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    [LoggerMessage(Level = LogLevel.Information, Message = "Market entry {Entry} installed as model {Model} version {Version} (deployed: {Deployed}) by {Actor}")]
    private static partial void LogInstalled(ILogger logger, string entry, string model, long version, bool deployed, string actor);
}
