using System.ComponentModel.DataAnnotations;

namespace MaaS.Updater;

/// <summary>Defaults of the update loop; a model's own policy overrides them.</summary>
public sealed class UpdaterOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Updater";

    /// <summary>Retrain when this many kept rows arrived since the last training.</summary>
    [Range(1, 100_000_000)]
    public long DefaultRetrainAfterRows { get; set; } = 100;

    /// <summary>Share of the new rows held out for the champion/challenger gate.</summary>
    [Range(0.01, 0.5)]
    public double DefaultHoldoutFraction { get; set; } = 0.2;

    /// <summary>How much lower the challenger's held-out MSE must be.</summary>
    [Range(0.0, double.MaxValue)]
    public double DefaultMinImprovement { get; set; }

    /// <summary>Most rows one IngestRows or UploadRows call may carry.</summary>
    [Range(1, 10_000_000)]
    public int MaxRowsPerBatch { get; set; } = 100_000;

    /// <summary>Largest file UploadRows takes, in bytes.</summary>
    [Range(1, 2_000_000_000)]
    public long MaxUploadBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Whether the background loop runs the schedule and drift rules and finishes interrupted updates (off only in tests).</summary>
    public bool TriggerLoopEnabled { get; set; } = true;

    /// <summary>How often the loop looks at every model's rules, in milliseconds.</summary>
    [Range(50, 60_000)]
    public int TriggerTickMilliseconds { get; set; } = 1000;

    /// <summary>
    /// A retraining with no ModelTrained (nor failure) after this many minutes is failed, so a lost event
    /// cannot block the model's retraining for ever (the debounce waits for it).
    /// </summary>
    [Range(1, 100_000)]
    public int RetrainTimeoutMinutes { get; set; } = 360;

    /// <summary>A model's drift is checked at most this often, in seconds.</summary>
    [Range(1, 86_400)]
    public int DriftCheckSeconds { get; set; } = 5;
}
