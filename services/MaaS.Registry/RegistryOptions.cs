using System.ComponentModel.DataAnnotations;

namespace MaaS.Registry;

/// <summary>Limits and file locations of the registry.</summary>
public sealed class RegistryOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Registry";

    /// <summary>Largest model artifact accepted, in bytes.</summary>
    [Range(1, long.MaxValue, ErrorMessage = "Registry:MaxArtifactBytes must be at least 1.")]
    public long MaxArtifactBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Largest dataset file accepted, in bytes.</summary>
    [Range(1, long.MaxValue, ErrorMessage = "Registry:MaxDatasetBytes must be at least 1.")]
    public long MaxDatasetBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>SQLite file; empty = {Mesh:DataDirectory}/registry.db.</summary>
    public string DatabasePath { get; set; } = "";

    /// <summary>Blob store root; empty = {Mesh:DataDirectory}/blobs.</summary>
    public string BlobDirectory { get; set; } = "";
}
