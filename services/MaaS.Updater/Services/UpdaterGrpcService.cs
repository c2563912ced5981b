using Grpc.Core;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Data;
using MaaS.Updater.Cleaning;
using MaaS.Updater.Gate;
using MaaS.Updater.Ingestion;
using MaaS.Updater.Policies;
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
    UpdaterStore store, IRegistryGateway registry, RetrainPlanner planner, IRolloutManager rollouts, Timeline timeline,
    Ingestor ingestor, IOptions<UpdaterOptions> options, ILogger<UpdaterGrpcService> logger)
    : UpdaterService.UpdaterServiceBase
{
    /// <inheritdoc />
    public override async Task<SetPolicyResponse> SetPolicy(SetPolicyRequest request, ServerCallContext context)
    {
        var policy = request.Policy ?? throw MeshErrors.InvalidArgument("policy is required.");
        RequireModelName(policy.ModelName, "policy.model_name");
        PolicyValidator.Validate(policy, null, null);
        // The model must exist (NotFound otherwise); with a production version, the metric must fit its task.
        var model = await registry.GetModelAsync(policy.ModelName, context.CancellationToken);
        if (model.Aliases.TryGetValue(RegistryGateway.Production, out var production))
        {
            var champion = await registry.GetVersionAsync(policy.ModelName, production, context.CancellationToken);
            PolicyValidator.Validate(policy, ModelTask.Of(champion), ChampionColumns.From(champion));
        }
        store.SetPolicy(policy);
        LogPolicySet(logger, policy.ModelName, policy.RetrainAfterRows, policy.RetrainIntervalSeconds, policy.Drift is not null, policy.Feedback is not null);
        return new SetPolicyResponse { Policy = store.GetPolicy(policy.ModelName) };
    }

    /// <inheritdoc />
    public override Task<GetPolicyResponse> GetPolicy(GetPolicyRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        return Task.FromResult(new GetPolicyResponse { Policy = store.GetPolicy(request.ModelName) });
    }

    /// <inheritdoc />
    public override Task<ListPoliciesResponse> ListPolicies(ListPoliciesRequest request, ServerCallContext context)
    {
        var response = new ListPoliciesResponse();
        response.Policies.AddRange(store.ListPolicies());
        return Task.FromResult(response);
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
    public override async Task<IngestRowsResponse> IngestRows(IngestRowsRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        if (request.Rows.Count == 0) throw MeshErrors.InvalidArgument("rows must hold at least one row.");
        RequireBatchSize(request.Rows.Count, "rows");
        var rows = request.Rows.Select(r => IngestRow.Of(r.Values)).ToList();
        var report = await ingestor.IngestAsync(request.ModelName, request.Columns, rows, request.Feedback, context.CancellationToken);
        return new IngestRowsResponse { Report = report };
    }

    /// <inheritdoc />
    public override async Task<IngestRowsResponse> UploadRows(IAsyncStreamReader<UploadRowsRequest> requestStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct)) throw MeshErrors.InvalidArgument("The upload is empty; the first message names model_name and format.");
        var first = requestStream.Current;
        RequireModelName(first.ModelName, "model_name");
        var format = DatasetFormats.Resolve(first.Format)
            ?? throw MeshErrors.InvalidArgument($"format must be one of {string.Join(", ", DatasetFormats.All)}; got '{first.Format}'.");
        var limit = options.Value.MaxUploadBytes;
        using var buffer = new MemoryStream();
        var message = first;
        while (true)
        {
            if (buffer.Length + message.Chunk.Length > limit)
            {
                throw MeshErrors.ResourceExhausted($"The upload is larger than {limit} bytes (Updater:MaxUploadBytes).");
            }
            message.Chunk.WriteTo(buffer);
            if (!await requestStream.MoveNext(ct)) break;
            message = requestStream.Current;
        }
        if (buffer.Length == 0) throw MeshErrors.InvalidArgument("The upload holds no file bytes (chunk).");

        RowFile file;
        try
        {
            file = await RowFiles.ReadAsync(buffer.ToArray(), format, ct);
        }
        catch (FormatException ex)
        {
            throw MeshErrors.InvalidArgument($"The {DatasetFormats.Label(format)} file cannot be read as a table: {ex.Message}");
        }
        if (file.Rows.Count == 0) throw MeshErrors.InvalidArgument("The file holds a header but no rows.");
        RequireBatchSize(file.Rows.Count, "The file");
        var report = await ingestor.IngestAsync(first.ModelName, file.Columns, file.Rows, first.Feedback, ct);
        return new IngestRowsResponse { Report = report };
    }

    /// <inheritdoc />
    public override async Task<TriggerRetrainResponse> TriggerRetrain(TriggerRetrainRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        var ct = context.CancellationToken;
        var champion = await registry.GetChampionAsync(request.ModelName, ct);
        var columns = ChampionColumns.From(champion)
            ?? throw MeshErrors.FailedPrecondition($"Production version {champion.Version} of '{request.ModelName}' records no feature/label columns; it cannot be retrained.");
        if (store.InFlight(request.ModelName) is { } running)
        {
            throw MeshErrors.FailedPrecondition($"Retraining {running} of '{request.ModelName}' is in flight; one retraining per model at a time.");
        }
        var reason = request.Reason.Trim().Length > 0 ? request.Reason.Trim() : "requested";
        var firing = new TriggerFiring(TriggerRules.Manual, $"asked for: {reason}", new Dictionary<string, string> { ["requested_reason"] = reason });
        var jobId = await planner.LaunchAsync(request.ModelName, champion, columns, store.GetPolicy(request.ModelName), firing, ct)
            ?? throw MeshErrors.FailedPrecondition($"A retraining of '{request.ModelName}' started meanwhile; one retraining per model at a time.");
        return new TriggerRetrainResponse { JobId = jobId };
    }

    /// <inheritdoc />
    public override Task<GetUpdateStatusResponse> GetUpdateStatus(GetUpdateStatusRequest request, ServerCallContext context)
    {
        RequireModelName(request.ModelName, "model_name");
        var status = store.GetStatus(request.ModelName);
        if (rollouts.Current(request.ModelName) is { } rollout) status.Rollout = rollout;
        return Task.FromResult(status);
    }

    private void RequireBatchSize(int rows, string what)
    {
        if (rows > options.Value.MaxRowsPerBatch)
        {
            throw MeshErrors.ResourceExhausted($"{what} holds {rows} rows; one call takes at most {options.Value.MaxRowsPerBatch} (Updater:MaxRowsPerBatch).");
        }
    }

    private static void RequireModelName(string name, string field)
    {
        if (!MeshNames.IsValid(name))
        {
            throw MeshErrors.InvalidArgument($"{field} must be {MeshNames.Rule}; got '{name}'.");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Policy of {Model}: rows {RetrainAfterRows}, schedule {IntervalSeconds} s, drift {Drift}, feedback {Feedback}")]
    private static partial void LogPolicySet(ILogger logger, string model, long retrainAfterRows, long intervalSeconds, bool drift, bool feedback);
}
