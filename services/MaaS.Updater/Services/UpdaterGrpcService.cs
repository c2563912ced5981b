using Grpc.Core;
using MaaS.Contracts;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Data;
using MaaS.Updater.Cleaning;
using MaaS.Updater.Registry;
using MaaS.Updater.Retraining;
using MaaS.Updater.Rollout;
using MaaS.Updater.Storage;
using MaaS.Updater.V1;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Services;

/// <summary>
/// maas.updater.v1.UpdaterService: policies, ingestion, triggers, status and the timeline here; the
/// rollout rpcs in UpdaterGrpcService.Rollouts.cs.
/// </summary>
public sealed partial class UpdaterGrpcService(
    UpdaterStore store, RegistryGateway registry, RetrainPlanner planner, IRolloutManager rollouts, Timeline timeline,
    IOptions<UpdaterOptions> options, ILogger<UpdaterGrpcService> logger)
    : UpdaterService.UpdaterServiceBase
{
    /// <inheritdoc />
    public override Task<SetPolicyResponse> SetPolicy(SetPolicyRequest request, ServerCallContext context)
    {
        var policy = request.Policy ?? throw MeshErrors.InvalidArgument("policy is required.");
        RequireModelName(policy.ModelName, "policy.model_name");
        if (policy.RetrainAfterRows < 2)
        {
            throw MeshErrors.InvalidArgument("policy.retrain_after_rows must be at least 2 (one row to train on, one to hold out).");
        }
        if (!(policy.HoldoutFraction > 0 && policy.HoldoutFraction <= 0.5))
        {
            throw MeshErrors.InvalidArgument("policy.holdout_fraction must be in (0, 0.5].");
        }
        if (!(policy.MinImprovement >= 0 && double.IsFinite(policy.MinImprovement)))
        {
            throw MeshErrors.InvalidArgument("policy.min_improvement must be a finite number >= 0.");
        }
        store.SetPolicy(policy);
        return Task.FromResult(new SetPolicyResponse { Policy = store.GetPolicy(policy.ModelName) });
    }

    /// <inheritdoc />
    public override Task<ExplainModelResponse> ExplainModel(ExplainModelRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        var response = new ExplainModelResponse { ModelName = request.ModelName };
        response.Entries.AddRange(timeline.Read(request.ModelName, request.Since?.ToDateTimeOffset()));
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override Task<GetPolicyResponse> GetPolicy(GetPolicyRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        return Task.FromResult(new GetPolicyResponse { Policy = store.GetPolicy(request.ModelName) });
    }

    /// <inheritdoc />
    public override async Task<IngestRowsResponse> IngestRows(IngestRowsRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        if (request.Rows.Count == 0) throw MeshErrors.InvalidArgument("rows must hold at least one row.");
        if (request.Rows.Count > options.Value.MaxRowsPerBatch)
        {
            throw MeshErrors.ResourceExhausted($"rows holds {request.Rows.Count} rows; one call takes at most {options.Value.MaxRowsPerBatch}.");
        }
        var ct = context.CancellationToken;
        var champion = await registry.GetChampionAsync(request.ModelName, ct);
        var columns = ChampionColumns.From(champion)
            ?? throw MeshErrors.FailedPrecondition($"Production version {champion.Version} of '{request.ModelName}' records no feature/label columns; it cannot be retrained from rows.");
        var order = ColumnOrder(request.Columns, columns);

        var cleaned = RowCleaner.Clean(order, request.Rows.Select(r => (IReadOnlyList<double>)r.Values), store.StoredRowKeys(request.ModelName).Contains);
        var report = new IngestReport { RowsIn = request.Rows.Count, RowsKept = cleaned.Kept.Count };
        foreach (var (reason, count) in cleaned.Dropped) report.RowsDropped[reason] = count;
        if (cleaned.Kept.Count > 0)
        {
            var dataset = await registry.UploadCsvAsync($"{request.ModelName}-ingested",
                new NumericTable(columns.All, cleaned.Kept).ToCsv(), $"cleaned rows for {request.ModelName}", ct);
            report.DatasetName = dataset.Name;
            report.DatasetVersion = dataset.Version;
            report.RowsSinceTraining = store.RecordBatch(request.ModelName,
                cleaned.Kept.Select(v => (RowCleaner.Key(v), v)).ToList(), dataset.Version,
                new DataIngested
                {
                    ModelName = request.ModelName,
                    DatasetName = dataset.Name,
                    DatasetVersion = dataset.Version,
                    RowsIn = report.RowsIn,
                    RowsKept = report.RowsKept,
                });
        }
        else
        {
            report.RowsSinceTraining = store.GetStatus(request.ModelName).RowsSinceTraining;
        }
        LogIngested(logger, request.ModelName, report.RowsIn, report.RowsKept, report.RowsSinceTraining);

        var jobId = await planner.MaybeLaunchAsync(request.ModelName, champion, columns, store.GetPolicy(request.ModelName), ct);
        report.RetrainTriggered = jobId is not null;
        return new IngestRowsResponse { Report = report };
    }

    /// <inheritdoc />
    public override Task<GetUpdateStatusResponse> GetUpdateStatus(GetUpdateStatusRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        return Task.FromResult(store.GetStatus(request.ModelName));
    }

    /// <summary>Where each given column goes in the champion's order; the set must match exactly.</summary>
    private static int[] ColumnOrder(IReadOnlyList<string> given, ChampionColumns champion)
    {
        var expected = champion.All;
        var order = given.Select(c => expected.ToList().IndexOf(c)).ToArray();
        if (given.Count != expected.Count || order.Any(i => i < 0) || order.Distinct().Count() != order.Length)
        {
            throw MeshErrors.InvalidArgument(
                $"columns must be exactly the production version's columns [{string.Join(", ", expected)}] in any order; got [{string.Join(", ", given)}].");
        }
        return order;
    }

    private static void RequireModelName(string name, string field)
    {
        if (!MeshNames.IsValid(name))
        {
            throw MeshErrors.InvalidArgument($"{field} must be {MeshNames.Rule}; got '{name}'.");
        }
    }


    [LoggerMessage(Level = LogLevel.Information, Message = "Ingested {RowsIn} rows for {Model}: kept {RowsKept}, {Pending} waiting for training")]
    private static partial void LogIngested(ILogger logger, string model, long rowsIn, long rowsKept, long pending);
}
