using System.ComponentModel.DataAnnotations;

namespace MaaS.Updater.Drift;

/// <summary><c>Updater:Drift</c>: how much of the sampled inference inputs and training data drift detection keeps.</summary>
public sealed class DriftOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Updater:Drift";

    /// <summary>Newest sampled inputs kept per model (older ones are pruned as new ones arrive); a rule's window cannot exceed it usefully.</summary>
    [Range(10, 10_000_000, ErrorMessage = "Updater:Drift:MaxSamplesPerModel must be between 10 and 10000000.")]
    public int MaxSamplesPerModel { get; set; } = 100_000;

    /// <summary>
    /// Most training rows a reference keeps per champion (evenly spaced when the dataset is larger): the
    /// reference lives in memory, sorted, for every model checked.
    /// </summary>
    [Range(100, 10_000_000, ErrorMessage = "Updater:Drift:MaxReferenceRows must be between 100 and 10000000.")]
    public int MaxReferenceRows { get; set; } = 200_000;
}
