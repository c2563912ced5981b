using MaaS.Trainer.V1;
using TorchSharp;
using TorchSharp.Modules;
using TorchTensor = TorchSharp.torch.Tensor;

namespace MaaS.Trainer.Training;

/// <summary>
/// A TorchSharp checkpoint: the module's weights and the optimizer's state (momentum buffers, Adam's moments
/// and step count), behind a header naming the optimizer settings they belong to. Restoring both makes a
/// warm start continue exactly where the earlier run stopped.
/// </summary>
public static class TrainingCheckpoint
{
    private const string Magic = "maas-trainer-checkpoint-1";

    /// <summary>The checkpoint of a module and its optimizer.</summary>
    public static byte[] Save(torch.nn.Module<TorchTensor, TorchTensor> model, torch.optim.Optimizer optimizer, TrainingSpec spec)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(OptimizerKey(spec));
            model.save(writer);
            ((OptimizerHelper)optimizer).save_state_dict(writer);
        }
        return stream.ToArray();
    }

    /// <summary>
    /// Loads the weights, and the optimizer state when the spec keeps the same optimizer, momentum and weight
    /// decay (other settings would be overwritten by the saved ones); the spec's learning rate always applies.
    /// </summary>
    /// <exception cref="TrainingFailedException">The bytes are not a checkpoint of this network.</exception>
    public static void Restore(byte[] checkpoint, torch.nn.Module<TorchTensor, TorchTensor> model, torch.optim.Optimizer optimizer, TrainingSpec spec)
    {
        try
        {
            using var reader = new BinaryReader(new MemoryStream(checkpoint));
            if (reader.ReadString() != Magic) throw new InvalidDataException("it is not a trainer checkpoint");
            var key = reader.ReadString();
            model.load(reader);
            if (key != OptimizerKey(spec)) return;
            ((OptimizerHelper)optimizer).load_state_dict(reader);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = spec.LearningRate;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or ArgumentException or InvalidOperationException or IOException)
        {
            throw new TrainingFailedException($"The checkpoint of version {spec.WarmStartVersion} cannot be loaded: {ex.Message}", ex);
        }
    }

    private static string OptimizerKey(TrainingSpec spec) =>
        FormattableString.Invariant($"{spec.Optimizer};momentum={spec.Momentum:R};weight_decay={spec.WeightDecay:R}");
}
