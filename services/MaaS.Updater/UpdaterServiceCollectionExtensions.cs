using MaaS.Onnx;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Outbox;
using MaaS.Updater.Drift;
using MaaS.Updater.Gate;
using MaaS.Updater.Ingestion;
using MaaS.Updater.Registry;
using MaaS.Updater.Retraining;
using MaaS.Updater.Rollout;
using MaaS.Updater.Storage;
using MaaS.Updater.Telemetry;
using MaaS.Updater.Triggers;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MaaS.Updater;

/// <summary>The updater's own registrations.</summary>
public static class UpdaterServiceCollectionExtensions
{
    /// <summary>
    /// Options, the SQLite store with its outbox, the registry client, ingestion, the triggers and their
    /// loop, the retrain planner, the gate, drift detection and rollouts.
    /// </summary>
    public static WebApplicationBuilder AddUpdater(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<UpdaterOptions>().BindConfiguration(UpdaterOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<OnnxRuntimeOptions>().BindConfiguration(OnnxRuntimeOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();

        builder.Services.AddSingleton<UpdaterDatabase>();
        builder.Services.AddSingleton<IOutboxDatabase>(sp => sp.GetRequiredService<UpdaterDatabase>());
        builder.Services.AddSingleton<UpdaterStore>();
        builder.Services.AddSingleton<Timeline>();
        builder.Services.AddSqliteOutbox();

        builder.Services.AddMeshGrpcClient<RegistryService.RegistryServiceClient>("Registry");
        builder.Services.AddSingleton<RegistryGateway>();
        builder.Services.AddSingleton<IRegistryGateway>(sp => sp.GetRequiredService<RegistryGateway>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<OnnxSessionFactory>();
        builder.Services.AddSingleton<ChampionChallengerGate>();
        builder.Services.AddSingleton<GateRunner>();
        builder.Services.AddSingleton<RetrainPlanner>();
        builder.Services.AddSingleton<TriggerEvaluator>();
        builder.Services.AddSingleton<Ingestor>();
        builder.Services.AddSingleton<TriggerLoop>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TriggerLoop>());
        builder.Services.AddDriftDetection();
        builder.Services.AddRollouts();
        builder.Services.AddUpdaterTelemetry();
        return builder;
    }
}
