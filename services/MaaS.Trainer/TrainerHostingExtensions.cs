using MaaS.Onnx;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Outbox;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.Peers;
using MaaS.Trainer.Storage;
using MaaS.Trainer.Training;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer;

/// <summary>Everything the trainer registers beyond the service defaults.</summary>
public static class TrainerHostingExtensions
{
    /// <summary>Options, the registry client, the job store, queue and worker, training and export checking.</summary>
    public static WebApplicationBuilder AddTrainer(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TrainerOptions>().BindConfiguration(TrainerOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<TrainerOptions>, TrainerPeersValidation>();
        // Two replicas on one host differ by port, so hostname-port names each one.
        services.AddOptions<TrainerOptions>().PostConfigure<IOptions<MeshHostOptions>>((o, mesh) =>
        {
            if (o.ReplicaId.Length == 0) o.ReplicaId = $"{Environment.MachineName}-{mesh.Value.GrpcPort}";
        });
        // Without the registry the trainer can do nothing: say so at start, not at the first job.
        services.AddOptions<ServiceUrlsOptions>()
            .Validate(o => Uri.TryCreate(o.Registry, UriKind.Absolute, out _), "Services:Registry must be the absolute address of the registry's gRPC endpoint.")
            .ValidateOnStart();
        // The export check compares against TorchSharp on the CPU, so ONNX Runtime runs on the CPU too
        // (CUDA's TF32 Gemm would measure the GPU, not the export); OnnxRuntime:PreferCuda can still override.
        services.AddOptions<OnnxRuntimeOptions>().Configure(o => o.PreferCuda = false)
            .BindConfiguration(OnnxRuntimeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<OnnxSessionFactory>();

        services.AddMeshGrpcClient<RegistryService.RegistryServiceClient>("Registry");

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<TrainerDatabase>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<JobCancellations>();
        services.AddSingleton<CheckpointStore>();
        services.AddSingleton<JobQueue>();
        services.AddSingleton<SpecValidator>();
        services.AddSingleton<JobSubmitter>();
        services.AddSingleton<JobEvents>();
        services.AddSingleton<IOutboxDatabase>(sp => sp.GetRequiredService<TrainerDatabase>());
        services.AddSqliteOutbox();

        // The other replicas, asked about jobs this one does not keep; tests replace the channel factory.
        services.TryAddSingleton<IPeerChannelFactory, PeerChannelFactory>();
        services.AddSingleton<TrainerPeers>();

        services.AddSingleton<ExportVerifier>();
        services.AddSingleton<ModelTrainer>();
        services.AddSingleton<RegistryGateway>();
        services.AddSingleton<DatasetCache>();
        services.AddHostedService<TorchRuntimeSetup>();
        services.AddSingleton<TrainingJobRunner>();
        services.AddHostedService<JobWorker>();
        return builder;
    }
}
