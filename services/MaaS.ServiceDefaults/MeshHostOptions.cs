using System.ComponentModel.DataAnnotations;

namespace MaaS.ServiceDefaults;

/// <summary>Where a service listens and keeps its files.</summary>
public sealed class MeshHostOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Mesh";

    /// <summary>Address to bind; loopback by default so nothing is exposed by accident.</summary>
    [Required]
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>Port of the gRPC endpoint (HTTP/2 without TLS).</summary>
    [Range(1, 65535)]
    public int GrpcPort { get; set; }

    /// <summary>Port of the HTTP/1.1 endpoint (REST, health); 0 = none.</summary>
    [Range(0, 65535)]
    public int HttpPort { get; set; }

    /// <summary>Port of the Prometheus endpoint <c>/metrics</c> (HTTP/1.1); 0 = none.</summary>
    [Range(0, 65535)]
    public int MetricsPort { get; set; }

    /// <summary>Folder for this service's state (database, blobs).</summary>
    [Required]
    public string DataDirectory { get; set; } = ".maas/data";
}
