using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MaaS.Inference.Sampling;

/// <summary>
/// <c>Inference:Sampling</c>: how a replica samples the inputs of dense models for the updater's drift
/// detection. Heavy traffic is sampled, never copied: at most <see cref="MaxRowsPerInterval"/> rows per
/// model version and interval leave the replica.
/// </summary>
public sealed class SamplingOptions
{
    /// <summary>Whether inputs are sampled and published at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Seconds between two publications of InputsSampled (each starts a fresh sample).</summary>
    [Range(1, 3600, ErrorMessage = "Inference:Sampling:IntervalSeconds must be between 1 and 3600.")]
    public int IntervalSeconds { get; set; } = 5;

    /// <summary>Most rows kept per model version and interval (the reservoir's size).</summary>
    [Range(1, 10_000, ErrorMessage = "Inference:Sampling:MaxRowsPerInterval must be between 1 and 10000.")]
    public int MaxRowsPerInterval { get; set; } = 200;

    /// <summary>
    /// Widest input sampled, in features: a row is copied into the message as it is, so an image-sized
    /// "row" would make every message huge; such models are not dense tabular models and are skipped.
    /// </summary>
    [Range(1, 100_000, ErrorMessage = "Inference:Sampling:MaxFeatures must be between 1 and 100000.")]
    public int MaxFeatures { get; set; } = 1024;

    /// <summary>
    /// Validates the nested section: DataAnnotations validation of <see cref="InferenceOptions"/> does not
    /// descend into nested objects, so the attributes above are checked here, at start like the others.
    /// </summary>
    internal sealed class Validator : IValidateOptions<InferenceOptions>
    {
        public ValidateOptionsResult Validate(string? name, InferenceOptions options)
        {
            var results = new List<ValidationResult>();
            return System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options.Sampling, new ValidationContext(options.Sampling), results, validateAllProperties: true)
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(results.Select(r => r.ErrorMessage ?? "Inference:Sampling is invalid."));
        }
    }
}
