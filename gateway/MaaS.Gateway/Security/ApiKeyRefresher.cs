using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Security;

/// <summary>
/// Opens the key store at start (migrations, bootstrap admin key), not at the first request, then reloads it
/// every Gateway:Auth:RefreshSeconds: the safety net for an ApiKeysChanged event this replica missed, so a key
/// created or revoked on another replica is known here within that interval at the latest.
/// </summary>
public sealed class ApiKeyRefresher(IServiceProvider services, IOptions<GatewaySecurityOptions> options) : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return Task.CompletedTask;
        }
        services.GetRequiredService<ApiKeyStore>();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var store = services.GetRequiredService<ApiKeyStore>();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RefreshSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // A failed reload has logged its warning and kept the last snapshot; the next tick tries again.
                store.Reload();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
