using Microsoft.Extensions.Options;

namespace MaaS.Inference.Sampling;

/// <summary>Registrations of input sampling (settings under <c>Inference:Sampling</c>).</summary>
public static class SamplingExtensions
{
    /// <summary>The sampler the engine offers every request to, its validator, and the publisher (a hosted service).</summary>
    public static IServiceCollection AddInputSampling(this IServiceCollection services)
    {
        services.AddSingleton<IValidateOptions<InferenceOptions>, SamplingOptions.Validator>();
        services.AddSingleton<InputSampler>();
        services.AddSingleton<SamplePublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<SamplePublisher>());
        return services;
    }
}
