using MaaS.Trainer.Storage;

namespace MaaS.Trainer.Training;

/// <summary>
/// Checkpoints of the versions this replica trained, at {Mesh:DataDirectory}/checkpoints/&lt;model&gt;/&lt;version&gt;.bin.
/// They stay on the replica's disk: a version trained elsewhere has none here, and its warm start reads the
/// weights from the ONNX artifact instead (fresh optimizer state).
/// </summary>
public sealed partial class CheckpointStore(TrainerDatabase database, ILogger<CheckpointStore> logger)
{
    /// <summary>The checkpoint of a version, or null when this replica has none.</summary>
    public byte[]? Read(string model, long version)
    {
        var path = PathOf(model, version);
        return File.Exists(path) ? File.ReadAllBytes(path) : null;
    }

    /// <summary>Keeps a version's checkpoint; a failure is logged, since the version itself is registered.</summary>
    public void Write(string model, long version, byte[] checkpoint)
    {
        if (checkpoint.Length == 0) return;
        var path = PathOf(model, version);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            // Written aside and moved, so a reader never sees half a checkpoint.
            var temporary = path + ".tmp";
            File.WriteAllBytes(temporary, checkpoint);
            File.Move(temporary, path, overwrite: true);
        }
        catch (IOException ex)
        {
            LogWriteFailed(logger, ex, model, version);
        }
    }

    // Model names are validated (MeshNames: no '/', no '..'), so they are safe as a folder name.
    private string PathOf(string model, long version) =>
        Path.Combine(database.DataDirectory, "checkpoints", model, $"{version}.bin");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not keep the checkpoint of {Model} version {Version}; its warm starts will read the ONNX")]
    private static partial void LogWriteFailed(ILogger logger, Exception ex, string model, long version);
}
