using System.Collections.Concurrent;
using Grpc.Core;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Data;
using MaaS.Updater.Registry;
using MaaS.Updater.Retraining;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Drift;

/// <summary>
/// The reference from the registry: the version's feature columns (hyper-parameter feature_columns, as the
/// retrain planner reads them) taken from the dataset its lineage names. Kept per model for the version
/// last asked: drift is checked against the champion, which changes rarely.
/// </summary>
public sealed partial class RegistryDriftReference(
    IRegistryGateway registry, IOptions<DriftOptions> options, ILogger<RegistryDriftReference> logger)
    : IDriftReference
{
    private readonly ConcurrentDictionary<string, (long Version, Lazy<Task<DriftReference>> Load)> cache = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task<DriftReference> GetAsync(string model, long version, CancellationToken ct)
    {
        var entry = cache.AddOrUpdate(model,
            static (m, s) => (s.version, new Lazy<Task<DriftReference>>(() => s.self.LoadAsync(m, s.version, s.ct))),
            static (m, old, s) => old.Version == s.version && !(old.Load.IsValueCreated && (old.Load.Value.IsFaulted || old.Load.Value.IsCanceled))
                ? old
                : (s.version, new Lazy<Task<DriftReference>>(() => s.self.LoadAsync(m, s.version, s.ct))),
            (self: this, version, ct));
        // A failed load is not kept: the next check tries again (the registry may be back, the dataset fixed).
        return await entry.Load.Value;
    }

    private async Task<DriftReference> LoadAsync(string model, long version, CancellationToken ct)
    {
        var champion = await registry.GetVersionAsync(model, version, ct);
        var columns = ChampionColumns.From(champion) ?? throw MeshErrors.FailedPrecondition(
            $"Model '{model}' version {version} does not name its feature columns (hyper-parameter feature_columns); drift needs them to read its training data.");
        var lineage = champion.Lineage;
        if (lineage is null || lineage.DatasetName.Length == 0)
        {
            throw MeshErrors.FailedPrecondition($"Model '{model}' version {version} names no training dataset in its lineage; drift has nothing to compare with.");
        }
        var (info, content) = await registry.DownloadDatasetAsync(lineage.DatasetName, lineage.DatasetVersion, ct);
        var source = $"dataset {info.Name} v{info.Version}";
        if (lineage.DatasetDigest.Length > 0 && info.Digest.Length > 0 && !string.Equals(info.Digest, lineage.DatasetDigest, StringComparison.OrdinalIgnoreCase))
        {
            throw MeshErrors.FailedPrecondition(
                $"Dataset {source} has digest {info.Digest}, not the {lineage.DatasetDigest} that '{model}' version {version} was trained on; refusing to compare with it.");
        }
        NumericTable table;
        try
        {
            table = await DatasetFormats.ReadAsync(content, info.Format, ct);
        }
        catch (FormatException ex)
        {
            throw MeshErrors.FailedPrecondition($"The training data of '{model}' version {version} ({source}) cannot be read: {ex.Message}");
        }
        var indexes = columns.Features.Select(c => table.IndexOf(c) is var i and >= 0 ? i : throw MeshErrors.FailedPrecondition(
            $"The training data of '{model}' version {version} ({source}) has no column '{c}'; its columns are {string.Join(", ", table.Columns)}.")).ToArray();
        if (table.Rows.Count == 0)
        {
            throw MeshErrors.FailedPrecondition($"The training data of '{model}' version {version} ({source}) has no rows.");
        }
        // Evenly spaced rows when the dataset is larger than the reference may be: deterministic, and the
        // distribution's shape is kept far beyond what a window of live samples can tell apart.
        var keep = Math.Min(table.Rows.Count, options.Value.MaxReferenceRows);
        var rows = Enumerable.Range(0, keep).Select(k => table.Rows[(int)((long)k * table.Rows.Count / keep)]).ToList();
        DriftReference reference;
        try
        {
            reference = new DriftReference(
                columns.Features.Select((name, f) => new FeatureReference(name, rows.Select(r => r[indexes[f]]).Where(double.IsFinite))).ToList(),
                source);
        }
        catch (ArgumentException ex)
        {
            // A feature with no finite value at all: nothing to compare with.
            throw MeshErrors.FailedPrecondition($"The training data of '{model}' version {version} ({source}) cannot serve as a reference: {ex.Message}");
        }
        LogLoaded(logger, model, version, source, keep, columns.Features.Count);
        return reference;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Drift reference of {Model} version {Version}: {Source}, {Rows} rows, {Features} features")]
    private static partial void LogLoaded(ILogger logger, string model, long version, string source, int rows, int features);
}
