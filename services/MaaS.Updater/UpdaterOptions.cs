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

    /// <summary>Most rows one IngestRows call may carry.</summary>
    [Range(1, 10_000_000)]
    public int MaxRowsPerBatch { get; set; } = 100_000;
}
