using MaaS.Trainer.V1;

namespace MaaS.Cli.Commands;

/// <summary>Job states as people and the proto name them (QUEUED, RUNNING …).</summary>
public static class JobStates
{
    /// <summary>The state's short upper-case name.</summary>
    public static string Name(JobState state) => state switch
    {
        JobState.Queued => "QUEUED",
        JobState.Running => "RUNNING",
        JobState.Succeeded => "SUCCEEDED",
        JobState.Failed => "FAILED",
        JobState.Cancelled => "CANCELLED",
        _ => "UNSPECIFIED",
    };

    /// <summary>Parses a state name (queued, RUNNING, job_state_failed …); null when it is none of them.</summary>
    public static JobState? Parse(string text) => text.Trim().ToUpperInvariant().Replace("JOB_STATE_", "", StringComparison.Ordinal) switch
    {
        "QUEUED" => JobState.Queued,
        "RUNNING" => JobState.Running,
        "SUCCEEDED" => JobState.Succeeded,
        "FAILED" => JobState.Failed,
        "CANCELLED" or "CANCELED" => JobState.Cancelled,
        _ => null,
    };

    /// <summary>Whether the job has ended.</summary>
    public static bool Ended(JobState state) => state is JobState.Succeeded or JobState.Failed or JobState.Cancelled;
}
