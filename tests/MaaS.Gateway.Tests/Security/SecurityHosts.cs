using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using MaaS.Gateway.Routing;
using MaaS.Gateway.V1;
using MaaS.Registry.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MaaS.Gateway.Tests.Security;

/// <summary>A gateway with keys on, in its own temporary data folder, and a registry double that shows what reached it.</summary>
internal static class SecurityHosts
{
    /// <summary>The settings that turn keys on, with the database and the admin key file under <paramref name="root"/>.</summary>
    public static Dictionary<string, string?> AuthSettings(string root, bool openInference = false) => new()
    {
        ["Gateway:Auth:Enabled"] = "true",
        ["Gateway:Auth:OpenInference"] = openInference ? "true" : "false",
        ["Gateway:Auth:AdminKeyFile"] = Path.Combine(root, "admin.key"),
        ["Mesh:DataDirectory"] = Path.Combine(root, "data"),
    };

    public static string TempRoot() => Directory.CreateTempSubdirectory("maas-gateway-security-").FullName;

    /// <summary>A secured gateway routing model "m" v1 to <paramref name="replica"/>, ready for calls.</summary>
    public static async Task<(WebApplication App, int GrpcPort, int HttpPort)> StartGatewayAsync(
        ReplicaOptions replica, string? registry, string root, bool openInference = false, int metricsPort = 0)
    {
        var started = await TestHosts.StartGatewayAsync([replica], registry, pollIntervalMs: 100, metricsPort,
            AuthSettings(root, openInference));
        await TestHosts.WaitUntilAsync(started.App, t => t.Resolve("m", "1").Outcome == RouteOutcome.Found);
        return started;
    }

    /// <summary>gRPC metadata carrying a bearer key.</summary>
    public static Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };

    /// <summary>Issues a key through the gateway's KeyService with the admin key.</summary>
    public static async Task<string> CreateKeyAsync(GrpcChannel channel, string admin, string name, string[] scopes,
        double? requestsPerSecond = null, uint? burst = null)
    {
        var request = new CreateKeyRequest { Name = name, Scopes = { scopes } };
        if (requestsPerSecond is { } rate)
        {
            request.RequestsPerSecond = rate;
        }
        if (burst is { } b)
        {
            request.Burst = b;
        }
        var response = await new KeyService.KeyServiceClient(channel).CreateKeyAsync(request, Bearer(admin));
        return response.Token;
    }

    /// <summary>A registry double whose GetModel answers with the authorization header it received in the description.</summary>
    public static async Task<(WebApplication App, string Address)> StartEchoRegistryAsync()
    {
        var port = TestHosts.FreePort();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<EchoRegistry>();
        await app.StartAsync();
        return (app, $"http://127.0.0.1:{port}");
    }

    private sealed class EchoRegistry : RegistryService.RegistryServiceBase
    {
        public override Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context) =>
            Task.FromResult(new ListModelsResponse());

        public override Task<GetModelResponse> GetModel(GetModelRequest request, ServerCallContext context) =>
            Task.FromResult(new GetModelResponse
            {
                Model = new Model { Name = request.Name, Description = context.RequestHeaders.GetValue("authorization") ?? "" },
            });
    }
}
