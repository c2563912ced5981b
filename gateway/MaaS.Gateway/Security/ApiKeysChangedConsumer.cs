using MaaS.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Security;

/// <summary>
/// Another replica (or this one) created or revoked a key: reload the in-memory keys from the store now, so a
/// revocation takes effect on every replica without waiting for the periodic reload (<see cref="ApiKeyRefresher"/>).
/// </summary>
public sealed partial class ApiKeysChangedConsumer(
    IServiceProvider services, IOptions<GatewaySecurityOptions> options, ILogger<ApiKeysChangedConsumer> logger) : IConsumer<ApiKeysChanged>
{
    public Task Consume(ConsumeContext<ApiKeysChanged> context)
    {
        // Resolved only when keys are on: with Gateway:Auth:Enabled=false there is no store to open.
        if (options.Value.Enabled)
        {
            LogChanged(logger, context.Message.KeyId, context.Message.Change);
            services.GetRequiredService<ApiKeyStore>().Reload();
        }
        return Task.CompletedTask;
    }

    /// <summary>On a queue of this gateway process's own (<see cref="PerGatewayQueue"/>): every replica must see every change.</summary>
    public static void Register(IBusRegistrationConfigurator bus) => PerGatewayQueue.AddConsumer<ApiKeysChangedConsumer>(bus);

    [LoggerMessage(Level = LogLevel.Debug, Message = "API key {KeyId} {Change} on a gateway; reloading the keys")]
    private static partial void LogChanged(ILogger logger, string keyId, string change);
}
