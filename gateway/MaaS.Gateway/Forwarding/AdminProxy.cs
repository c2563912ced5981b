using Grpc.Core;
using MaaS.ServiceDefaults;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// Admin gRPC (registry, trainer, updater) passed through untouched and unbuffered, so client-streaming
/// uploads and server streams flow as they are produced.
/// </summary>
public sealed partial class AdminProxy(
    IHttpForwarder forwarder,
    ForwardingClient client,
    GatewayTransformer transformer,
    IOptions<ServiceUrlsOptions> services,
    ILogger<AdminProxy> logger)
{
    /// <summary>gRPC service name to the <see cref="ServiceUrlsOptions"/> setting holding its address.</summary>
    public static readonly IReadOnlyDictionary<string, string> Services = new Dictionary<string, string>
    {
        ["maas.registry.v1.RegistryService"] = nameof(ServiceUrlsOptions.Registry),
        ["maas.registry.v1.MarketService"] = nameof(ServiceUrlsOptions.Registry),
        ["maas.trainer.v1.TrainerService"] = nameof(ServiceUrlsOptions.Trainer),
        ["maas.updater.v1.UpdaterService"] = nameof(ServiceUrlsOptions.Updater),
    };

    public async Task HandleAsync(HttpContext context, string setting)
    {
        if (!GatewayResponses.IsGrpc(context.Request))
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        var address = setting switch
        {
            nameof(ServiceUrlsOptions.Registry) => services.Value.Registry,
            nameof(ServiceUrlsOptions.Trainer) => services.Value.Trainer,
            _ => services.Value.Updater,
        };
        if (!Uri.TryCreate(address, UriKind.Absolute, out _))
        {
            await GatewayResponses.WriteGrpcErrorAsync(context, StatusCode.Unavailable,
                $"The gateway has no address for the {setting} service (setting {ServiceUrlsOptions.Section}:{setting}).");
            return;
        }
        // An upload is many messages; each is limited by the service, the stream as a whole is not.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }

        var error = await forwarder.SendAsync(context, address!, client.Invoker, ForwardingClient.Grpc, transformer);
        if (error != ForwarderError.None && !context.RequestAborted.IsCancellationRequested)
        {
            var reason = context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message ?? "";
            LogForwardFailed(logger, setting, context.Request.Path.Value ?? "", error, reason);
            if (!context.Response.HasStarted)
            {
                await GatewayResponses.WriteGrpcErrorAsync(context, StatusCode.Unavailable,
                    $"The {setting} service at {address} could not be reached ({error}).");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forwarding {Path} to the {Service} service failed: {Error} {Reason}")]
    private static partial void LogForwardFailed(ILogger logger, string service, string path, ForwarderError error, string reason);
}
