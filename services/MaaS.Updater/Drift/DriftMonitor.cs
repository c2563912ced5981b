using MaaS.Updater.V1;

namespace MaaS.Updater.Drift;

/// <summary>Placeholder until drift detection lands: never enough samples.</summary>
public sealed class DriftMonitor : IDriftMonitor
{
    /// <inheritdoc />
    public Task<DriftResult?> CheckAsync(string model, long championVersion, DriftRule rule, CancellationToken ct) =>
        Task.FromResult<DriftResult?>(null);
}
