using System.Collections.Concurrent;
using MaaS.Contracts;
using MaaS.Inference.Runtime;
using Microsoft.Extensions.Options;

namespace MaaS.Inference.Sampling;

/// <summary>
/// Keeps a bounded sample of the input rows each dense model version receives (one 2-D numeric input
/// [rows, features]; other models are skipped) and hands the samples over once per interval, for the
/// updater's drift detection. Called on every request before it runs, so the common case (nothing chosen)
/// is a dictionary lookup, a short lock and one random draw per row, with no allocation.
/// </summary>
public sealed partial class InputSampler(IOptions<InferenceOptions> options, ILogger<InputSampler> logger)
{
    private readonly ConcurrentDictionary<(string Model, long Version), Reservoir> reservoirs = new();
    private readonly SamplingOptions settings = options.Value.Sampling;
    private int failureLogged;

    /// <summary>Offers a validated request's inputs to the sample of its model version; never fails the request.</summary>
    public void Observe(LoadedModel model, ValidatedRequest work)
    {
        if (work.Inputs.Count != 1)
        {
            return;
        }
        var input = work.Inputs[0];
        try
        {
            Offer(model.Model, model.Version, input.Check, input.Data);
        }
        catch (Exception ex)
        {
            // Sampling is a by-product of serving: a problem here is reported once and never reaches the caller.
            if (Interlocked.Exchange(ref failureLogged, 1) == 0)
            {
                LogSamplingFailed(logger, ex, model.Model, model.Version);
            }
        }
    }

    /// <summary>Offers one input tensor of <paramref name="model"/> version <paramref name="version"/>; only [rows, features] numeric tensors are sampled.</summary>
    public void Offer(string model, long version, TensorCheck check, InputData data)
    {
        if (!settings.Enabled || check.Shape.Length != 2 || !Reservoir.IsNumeric(check.Type) || check.Shape[0] == 0
            || check.Shape[1] < 1 || check.Shape[1] > settings.MaxFeatures)
        {
            return;
        }
        var state = (settings.MaxRowsPerInterval, Features: (int)check.Shape[1]);
        // A retired reservoir (idle for an interval, removed) answers false: the next lookup creates a fresh one.
        while (!reservoirs.GetOrAdd((model, version), static (key, s) => new Reservoir(key.Model, key.Version, s.MaxRowsPerInterval, s.Features), state)
            .Offer(check, data))
        {
        }
    }

    /// <summary>
    /// Ends the interval of every model version that received rows: one InputsSampled each (its sample and
    /// how many rows it saw), then every sample starts afresh. Versions idle for a whole interval are forgotten.
    /// </summary>
    public List<InputsSampled> Drain(string replicaId)
    {
        var messages = new List<InputsSampled>();
        foreach (var (key, reservoir) in reservoirs)
        {
            if (reservoir.TakeInterval() is not { } sample)
            {
                reservoirs.TryRemove(KeyValuePair.Create(key, reservoir));
                continue;
            }
            messages.Add(new InputsSampled
            {
                ModelName = reservoir.Model,
                Version = reservoir.Version,
                ReplicaId = replicaId,
                Rows = sample.Rows,
                RowsSeen = sample.RowsSeen,
            });
        }
        return messages;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sampling the inputs of {Model} version {Version} failed; samples are skipped, requests are unaffected (logged once)")]
    private static partial void LogSamplingFailed(ILogger logger, Exception ex, string model, long version);
}
