using System.ComponentModel.DataAnnotations;
using MaaS.Inference.Runtime;
using MaaS.Inference.Sampling;
using MaaS.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace MaaS.Inference;

/// <summary>Settings of one inference replica.</summary>
public sealed class InferenceOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Inference";

    /// <summary>Pool this replica belongs to; the gateway routes by pool.</summary>
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,64}$", ErrorMessage = "Inference:Pool must be 1-64 letters, digits, '.', '_' or '-'.")]
    public string Pool { get; set; } = "default";

    /// <summary>Unique name of this replica; empty = "&lt;hostname&gt;-&lt;Mesh:GrpcPort&gt;".</summary>
    public string ReplicaId { get; set; } = "";

    /// <summary>How many of the newest registry-ready versions of each model a replica holds (besides production) when the model has no VersionPolicy.</summary>
    [Range(1, ServingConfigParser.MaxLatestVersions, ErrorMessage = "Inference:MaxVersionsPerModel must be between 1 and 64.")]
    public int MaxVersionsPerModel { get; set; } = 3;

    /// <summary>Seconds between two syncs with the registry; events trigger one at once in between.</summary>
    [Range(1, 86400, ErrorMessage = "Inference:ResyncSeconds must be between 1 and 86400.")]
    public int ResyncSeconds { get; set; } = 10;

    /// <summary>
    /// Largest request taken, in bytes: the gRPC receive limit of the inference service and the REST body
    /// limit. 64 MiB by default, far above gRPC's 4 MiB, so large tensors need no client tuning.
    /// </summary>
    [Range(1024, int.MaxValue, ErrorMessage = "Inference:MaxRequestBytes must be between 1024 and 2147483647 (protobuf's limit).")]
    public int MaxRequestBytes { get; set; } = MeshHostingExtensions.MaxMessageBytes;

    /// <summary>Sampling of dense models' inputs for the updater's drift detection (<c>Inference:Sampling</c>).</summary>
    public SamplingOptions Sampling { get; set; } = new();

    /// <summary>Per-model serving settings parsed from <c>Inference:Models:&lt;name&gt;</c> (not bound directly: parsed with named errors).</summary>
    public IReadOnlyDictionary<string, ModelServingConfig> ModelConfigs { get; internal set; } = new Dictionary<string, ModelServingConfig>();

    /// <summary>Problems found while parsing <c>Inference:Models</c>; any stops the service at start.</summary>
    internal List<string> ModelConfigErrors { get; } = [];

    /// <summary>How <paramref name="model"/> is served by configuration (its own settings, else the default).</summary>
    public ModelServingConfig ConfigFor(string model) =>
        ModelConfigs.TryGetValue(model, out var config) ? config : ModelServingConfig.Default(MaxVersionsPerModel);

    /// <summary>
    /// The replica id from configuration, before the options exist: the bus needs it while services are
    /// still being registered, to name this replica's own temporary event queue.
    /// </summary>
    public static string ResolveReplicaId(IConfiguration configuration)
    {
        var configured = configuration[$"{Section}:{nameof(ReplicaId)}"];
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured.Trim();
        }
        var port = configuration[$"{MeshHostOptions.Section}:{nameof(MeshHostOptions.GrpcPort)}"] ?? "0";
        return $"{Environment.MachineName}-{port}";
    }

    /// <summary>Reads <c>Inference:Models</c> after binding, keeping the problems for <see cref="Validator"/>.</summary>
    internal void ParseModels(IConfiguration configuration)
    {
        ModelConfigErrors.Clear();
        ModelConfigs = ServingConfigParser.FromConfiguration(configuration.GetSection($"{Section}:Models"), MaxVersionsPerModel, ModelConfigErrors);
    }

    /// <summary>Fails start-up with every problem in <c>Inference:Models</c>, each naming its key.</summary>
    internal sealed class Validator : IValidateOptions<InferenceOptions>
    {
        public ValidateOptionsResult Validate(string? name, InferenceOptions options) =>
            options.ModelConfigErrors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(options.ModelConfigErrors);
    }
}
