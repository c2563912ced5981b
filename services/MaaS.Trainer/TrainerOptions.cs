using System.ComponentModel.DataAnnotations;

namespace MaaS.Trainer;

/// <summary>Limits of the trainer, section "Trainer".</summary>
public sealed class TrainerOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Trainer";

    /// <summary>Jobs trained at the same time by this replica; more replicas scale out instead.</summary>
    [Range(1, 64, ErrorMessage = "Trainer:MaxConcurrentJobs must be between 1 and 64.")]
    public int MaxConcurrentJobs { get; set; } = 1;

    /// <summary>Largest epochs a spec may ask for.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Trainer:MaxEpochs must be between 1 and 10000000.")]
    public int MaxEpochs { get; set; } = 100_000;

    /// <summary>Size of the artifact pieces streamed to the registry; well under the 64 MiB message limit.</summary>
    [Range(1024, 16 * 1024 * 1024, ErrorMessage = "Trainer:ChunkBytes must be between 1024 and 16777216.")]
    public int ChunkBytes { get; set; } = 65536;

    /// <summary>Name of this replica, recorded on its jobs; empty = "{hostname}-{Mesh:GrpcPort}".</summary>
    [RegularExpression("^[A-Za-z0-9._-]{0,128}$", ErrorMessage = "Trainer:ReplicaId must be 0-128 letters, digits, '.', '_' or '-'.")]
    public string ReplicaId { get; set; } = "";
}
