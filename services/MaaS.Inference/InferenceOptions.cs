using System.ComponentModel.DataAnnotations;
using MaaS.ServiceDefaults;

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

    /// <summary>How many of the newest registry-ready versions of each model a replica holds (besides production).</summary>
    [Range(1, 64, ErrorMessage = "Inference:MaxVersionsPerModel must be between 1 and 64.")]
    public int MaxVersionsPerModel { get; set; } = 3;

    /// <summary>Seconds between two syncs with the registry; events trigger one at once in between.</summary>
    [Range(1, 86400, ErrorMessage = "Inference:ResyncSeconds must be between 1 and 86400.")]
    public int ResyncSeconds { get; set; } = 10;

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
}
