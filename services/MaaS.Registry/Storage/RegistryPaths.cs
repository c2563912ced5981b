using MaaS.ServiceDefaults;

namespace MaaS.Registry.Storage;

/// <summary>Absolute locations of the database file and the blob store root.</summary>
public sealed record RegistryPaths(string DatabasePath, string BlobDirectory)
{
    /// <summary>Explicit settings win; otherwise both live under Mesh:DataDirectory.</summary>
    public static RegistryPaths Resolve(RegistryOptions registry, MeshHostOptions mesh)
    {
        var data = Path.GetFullPath(mesh.DataDirectory);
        var database = string.IsNullOrWhiteSpace(registry.DatabasePath)
            ? Path.Combine(data, "registry.db")
            : Path.GetFullPath(registry.DatabasePath);
        var blobs = string.IsNullOrWhiteSpace(registry.BlobDirectory)
            ? Path.Combine(data, "blobs")
            : Path.GetFullPath(registry.BlobDirectory);
        return new RegistryPaths(database, blobs);
    }
}
