using Microsoft.Extensions.Options;
using TorchSharp;

namespace MaaS.Trainer.Training;

/// <summary>
/// Sets libtorch's intra-op thread count once at start (<see cref="TrainerOptions.TorchThreads"/>). libtorch's
/// default is one thread per core for every job, so two jobs of one replica, or two replicas on one host,
/// would each run as many threads as there are cores and fight over them.
/// </summary>
public sealed partial class TorchRuntimeSetup(IOptions<TrainerOptions> options, ILogger<TorchRuntimeSetup> logger) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var threads = options.Value.EffectiveTorchThreads;
        torch.set_num_threads(threads);
        LogThreads(logger, threads, Environment.ProcessorCount, options.Value.MaxConcurrentJobs);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "libtorch uses {Threads} intra-op thread(s) ({Cores} core(s), {Slots} job slot(s))")]
    private static partial void LogThreads(ILogger logger, int threads, int cores, int slots);
}
