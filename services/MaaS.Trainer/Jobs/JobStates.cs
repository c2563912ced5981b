using MaaS.Trainer.V1;

namespace MaaS.Trainer.Jobs;

/// <summary>Facts about job states shared by the store, the runner and the events.</summary>
public static class JobStates
{
    /// <summary>Whether the job has ended and will not change again.</summary>
    public static bool IsTerminal(JobState state) =>
        state is JobState.Succeeded or JobState.Failed or JobState.Cancelled;

    /// <summary>The name used in bus events: Queued, Running, Succeeded, Failed, Cancelled.</summary>
    public static string EventName(JobState state) => state switch
    {
        JobState.Queued => "Queued",
        JobState.Running => "Running",
        JobState.Succeeded => "Succeeded",
        JobState.Failed => "Failed",
        JobState.Cancelled => "Cancelled",
        _ => "Unspecified",
    };
}
