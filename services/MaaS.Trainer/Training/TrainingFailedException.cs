namespace MaaS.Trainer.Training;

/// <summary>A job cannot finish for a reason the user can act on; the message is the sentence shown on the job.</summary>
public sealed class TrainingFailedException(string message, Exception? inner = null) : Exception(message, inner);
