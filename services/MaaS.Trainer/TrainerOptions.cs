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

    /// <summary>
    /// libtorch intra-op threads of this process; 0 = max(1, cores / MaxConcurrentJobs), so the jobs of one
    /// replica do not oversubscribe the cores. Replicas sharing one host should split the cores between them
    /// (e.g. 1 each for two replicas on 2 cores): threads of two processes spinning on the same core slow both.
    /// </summary>
    [Range(0, 256, ErrorMessage = "Trainer:TorchThreads must be between 0 (cores / MaxConcurrentJobs) and 256.")]
    public int TorchThreads { get; set; }

    /// <summary>
    /// Parsed datasets kept in memory by content digest, in MiB; 0 turns the cache off. Jobs on the same
    /// dataset version (sweeps, retrains, queues) then skip the download and the parse.
    /// </summary>
    [Range(0, 65536, ErrorMessage = "Trainer:DatasetCacheMegabytes must be between 0 and 65536.")]
    public int DatasetCacheMegabytes { get; set; } = 256;

    /// <summary>
    /// gRPC addresses of the other replicas (http://10.0.0.5:7002, or dns:///trainer-headless:7002 for every address
    /// of a DNS name); empty = this replica answers about its own jobs only. A job asked about here but kept by
    /// another replica is looked up there (GetJob, WatchJob, CancelJob) and ListJobs merges every replica's jobs.
    /// Checked by <see cref="Peers.TrainerPeersValidation"/>.
    /// </summary>
    public List<string> Peers { get; set; } = [];

    /// <summary>Resolve the host of every http(s) peer to all its addresses on use (cached ~5 s), as dns:/// peers are.</summary>
    public bool PeersResolveDns { get; set; }

    /// <summary>How long a call forwarded to a peer may take before that peer is skipped as unreachable.</summary>
    [Range(100, 60_000, ErrorMessage = "Trainer:PeerTimeoutMilliseconds must be between 100 and 60000.")]
    public int PeerTimeoutMilliseconds { get; set; } = 2000;

    /// <summary>The intra-op thread count <see cref="TorchThreads"/> resolves to.</summary>
    public int EffectiveTorchThreads => TorchThreads > 0 ? TorchThreads : Math.Max(1, Environment.ProcessorCount / MaxConcurrentJobs);
}
