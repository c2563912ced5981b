using System.Text;
using MaaS.Inference.Consumers;
using Grpc.AspNetCore.Server;
using MaaS.Inference.Runtime;
using MaaS.Inference.Sampling;
using MaaS.Inference.Services;
using MaaS.Onnx;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using MassTransit;
using Microsoft.Extensions.Options;

namespace MaaS.Inference;

/// <summary>The registrations of the inference service.</summary>
public static class InferenceExtensions
{
    /// <summary>
    /// Options, ONNX Runtime, the model repository, the registry sync (a hosted service) and the engine
    /// that gRPC and REST share.
    /// </summary>
    public static WebApplicationBuilder AddInference(this WebApplicationBuilder builder)
    {
        if (!BitConverter.IsLittleEndian)
        {
            // Raw tensor bytes are little-endian on the wire and are copied into ONNX Runtime as they are.
            throw new PlatformNotSupportedException("MaaS.Inference runs on little-endian hosts only.");
        }
        var services = builder.Services;
        services.AddOptions<InferenceOptions>().BindConfiguration(InferenceOptions.Section)
            .PostConfigure<IConfiguration>((o, configuration) =>
            {
                o.ReplicaId = InferenceOptions.ResolveReplicaId(configuration);
                o.ParseModels(configuration);
            })
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<InferenceOptions>, InferenceOptions.Validator>();
        // Inference:MaxRequestBytes is the inference service's own receive limit (the defaults give every service 64 MiB).
        services.AddOptions<GrpcServiceOptions<InferenceGrpcService>>().Configure<IOptions<InferenceOptions>>((grpc, inference) =>
        {
            grpc.MaxReceiveMessageSize = inference.Value.MaxRequestBytes;
            grpc.MaxSendMessageSize = Math.Max(inference.Value.MaxRequestBytes, MeshHostingExtensions.MaxMessageBytes);
        });
        services.AddOptions<ServiceUrlsOptions>()
            .Validate(u => Uri.TryCreate(u.Registry, UriKind.Absolute, out var uri) && (uri.Scheme == "http" || uri.Scheme == "https"),
                "Services:Registry must be the absolute http(s) address of the registry's gRPC endpoint: the replica loads its models from there.")
            .ValidateOnStart();
        services.AddOptions<OnnxRuntimeOptions>().BindConfiguration(OnnxRuntimeOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton<OnnxSessionFactory>();
        services.AddSingleton<ModelRepository>();
        services.AddSingleton<InferenceEngine>();
        services.AddInputSampling();
        services.AddSingleton<RegistrySync>();
        services.AddHostedService(sp => sp.GetRequiredService<RegistrySync>());
        services.AddMeshGrpcClient<RegistryService.RegistryServiceClient>("Registry");
        return builder;
    }

    /// <summary>
    /// The event consumers, each on a temporary queue of this replica's own: every replica must see every
    /// event (a shared queue would hand each event to one replica only), and the queue goes with the replica.
    /// </summary>
    public static IBusRegistrationConfigurator AddInferenceConsumers(this IBusRegistrationConfigurator bus, IConfiguration configuration)
    {
        var instance = QueueSafe(InferenceOptions.ResolveReplicaId(configuration));
        AddTemporary<ModelVersionRegisteredConsumer>(bus, instance);
        AddTemporary<AliasMovedConsumer>(bus, instance);
        AddTemporary<DeploymentChangedConsumer>(bus, instance);
        return bus;
    }

    private static void AddTemporary<TConsumer>(IBusRegistrationConfigurator bus, string instance)
        where TConsumer : class, IConsumer => bus.AddConsumer<TConsumer>().Endpoint(e =>
        {
            e.InstanceId = instance;
            e.Temporary = true;
        });

    /// <summary>A replica id reduced to what a queue name takes everywhere: lower-case letters, digits and '-' (MassTransit adds the separator).</summary>
    internal static string QueueSafe(string replicaId)
    {
        var sb = new StringBuilder(replicaId.Length);
        foreach (var c in replicaId.ToLowerInvariant())
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }
        return sb.ToString();
    }
}
