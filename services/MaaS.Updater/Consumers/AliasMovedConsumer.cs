using System.Globalization;
using MassTransit;
using MaaS.Contracts;
using MaaS.Updater.Storage;

namespace MaaS.Updater.Consumers;

/// <summary>An alias moved (by the updater or anyone): an "alias_moved" entry in the model's timeline.</summary>
public sealed class AliasMovedConsumer(UpdaterStore store) : IConsumer<AliasMoved>
{
    /// <inheritdoc />
    public Task Consume(ConsumeContext<AliasMoved> context)
    {
        var moved = context.Message;
        var from = moved.FromVersion == 0 ? "nothing" : $"version {moved.FromVersion}";
        var summary = $"Alias '{moved.Alias}' moved from {from} to version {moved.ToVersion}{(moved.Rollback ? " (rollback)" : "")}"
            + (moved.Actor.Length > 0 ? $" by {moved.Actor}" : "") + (moved.Reason.Length > 0 ? $": {moved.Reason}" : "");
        // The registry does not know the update's correlation id; the retraining that produced the version does.
        var known = store.CorrelationOfChallenger(moved.ModelName, moved.ToVersion);
        var correlation = known.Length > 0 ? known : moved.CorrelationId;
        store.AppendOnce(moved.EventId, moved.ModelName, TimelineKinds.AliasMoved, summary, new Dictionary<string, string>
        {
            ["alias"] = moved.Alias,
            ["from_version"] = moved.FromVersion.ToString(CultureInfo.InvariantCulture),
            ["to_version"] = moved.ToVersion.ToString(CultureInfo.InvariantCulture),
            ["actor"] = moved.Actor,
            ["reason"] = moved.Reason,
            ["rollback"] = moved.Rollback ? "true" : "false",
        }, correlation);
        return Task.CompletedTask;
    }
}
