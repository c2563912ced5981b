using System.Collections.Frozen;

namespace MaaS.Gateway.Security;

/// <summary>
/// What each path needs (the table of Security/README.md). Every rpc of the mesh's protos is listed by
/// name, so a new rpc is a decision, not an accident: a path not listed needs admin.
/// </summary>
public static class ScopeTable
{
    private const string Inference = "inference.GRPCInferenceService";
    private const string Registry = "maas.registry.v1.RegistryService";
    private const string Market = "maas.registry.v1.MarketService";
    private const string Trainer = "maas.trainer.v1.TrainerService";
    private const string Updater = "maas.updater.v1.UpdaterService";
    private const string Keys = "maas.gateway.v1.KeyService";

    /// <summary>gRPC service → method → requirement.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, AccessRequirement>> Rpcs =
        new Dictionary<string, IReadOnlyDictionary<string, AccessRequirement>>
        {
            [Inference] = Methods(AccessRequirement.Infer,
                "ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer",
                "RepositoryIndex", "ModelStatistics", "ModelStreamInfer", "ModelConfig")
                .With(AccessRequirement.Admin, "RepositoryModelLoad", "RepositoryModelUnload"),
            [Registry] = Methods(AccessRequirement.AnyKey,
                "GetModel", "ListModels", "GetVersion", "ListVersions", "DownloadArtifact", "GetDataset", "SearchModels",
                "GetAliasHistory", "GetServingVersion", "ListDatasets", "GetDeployment", "GetDeploymentHistory")
                // Registering a candidate or its data is training work; promoting it is not.
                .With(AccessRequirement.Train, "CreateModel", "RegisterVersion", "UploadDataset", "DownloadDataset")
                .With(AccessRequirement.Admin, "SetAlias", "DeleteAlias", "Rollback", "SetDeployment", "ArchiveVersion", "DeleteVersion"),
            [Market] = Methods(AccessRequirement.AnyKey, "SearchMarket", "GetMarketEntry")
                .With(AccessRequirement.Admin, "InstallMarketModel"),
            [Trainer] = Methods(AccessRequirement.Train, "SubmitJob", "GetJob", "WatchJob", "CancelJob", "ListJobs"),
            [Updater] = Methods(AccessRequirement.AnyKey, "GetPolicy", "GetUpdateStatus", "ListPolicies", "GetRollout", "ExplainModel")
                .With(AccessRequirement.Train, "IngestRows", "UploadRows", "TriggerRetrain")
                // A policy decides which retrained versions get promoted, and rollouts move traffic: they change what is served.
                .With(AccessRequirement.Admin, "SetPolicy", "StartRollout", "AdvanceRollout", "AbortRollout", "RollbackRollout"),
            [Keys] = Methods(AccessRequirement.Admin, "CreateKey", "ListKeys", "RevokeKey"),
            ["maas.diagnostics.v1.DiagnosticsService"] = Methods(AccessRequirement.AnyKey, "Ping"),
            ["grpc.health.v1.Health"] = Methods(AccessRequirement.Open, "Check", "Watch", "List"),
        };

    /// <summary>Paths that answer without a key: process and replica health, Prometheus.</summary>
    private static readonly FrozenSet<string> OpenPaths =
        new[] { "/healthz", "/livez", "/metrics", "/v2/health/live", "/v2/health/ready" }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, AccessRequirement> Paths = Rpcs
        .SelectMany(service => service.Value.Select(method => ($"/{service.Key}/{method.Key}", method.Value)))
        .ToFrozenDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal);

    /// <summary>What a request to <paramref name="path"/> needs.</summary>
    public static AccessRequirement For(string path)
    {
        if (Paths.TryGetValue(path, out var rpc))
        {
            return rpc;
        }
        if (OpenPaths.Contains(path))
        {
            return AccessRequirement.Open;
        }
        if (path.StartsWith("/v2", StringComparison.Ordinal) && (path.Length == 3 || path[3] == '/'))
        {
            // OIP REST: /v2/repository/models/{m}/load|unload change what a replica serves. Routing ignores
            // case and a trailing slash, so this check does too.
            var trimmed = path.AsSpan().TrimEnd('/');
            return path.StartsWith("/v2/repository/", StringComparison.OrdinalIgnoreCase)
                && (trimmed.EndsWith("/load", StringComparison.OrdinalIgnoreCase) || trimmed.EndsWith("/unload", StringComparison.OrdinalIgnoreCase))
                ? AccessRequirement.Admin
                : AccessRequirement.Infer;
        }
        return AccessRequirement.Admin;
    }

    private static Dictionary<string, AccessRequirement> Methods(AccessRequirement requirement, params string[] names) =>
        names.ToDictionary(n => n, _ => requirement, StringComparer.Ordinal);

    private static Dictionary<string, AccessRequirement> With(
        this Dictionary<string, AccessRequirement> methods, AccessRequirement requirement, params string[] names)
    {
        foreach (var name in names)
        {
            methods.Add(name, requirement);
        }
        return methods;
    }
}
