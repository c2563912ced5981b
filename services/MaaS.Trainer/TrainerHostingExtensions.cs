using MaaS.Onnx;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.Training;

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

        services.AddSingleton<JobStore>();
        services.AddSingleton<JobQueue>();
        services.AddSingleton<SpecValidator>();
        services.AddSingleton<JobSubmitter>();
        services.AddSingleton<JobEvents>();
        services.AddHostedService(sp => sp.GetRequiredService<JobEvents>());

        services.AddSingleton<ExportVerifier>();
        services.AddSingleton<ModelTrainer>();
        services.AddSingleton<RegistryGateway>();
        services.AddSingleton<TrainingJobRunner>();
        services.AddHostedService<JobWorker>();
        return builder;
    }
}
