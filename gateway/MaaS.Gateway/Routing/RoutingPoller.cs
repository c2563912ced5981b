using MaaS.ServiceDefaults.Registry;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Routing;

/// <summary>
/// Keeps the routing table current: asks every replica which versions it has READY and the registry
/// where each model's aliases point, every PollIntervalMs. A replica that does not answer is out
/// until it answers again; when the registry does not answer, the last aliases it gave stay in use.
/// </summary>
public sealed partial class RoutingPoller(
    RoutingTable table,
    ReplicaDirectory directory,
    RoutingRefresh refresh,
    IOptions<GatewayOptions> options,
    IOptions<ServiceUrlsOptions> services,
    ILogger<RoutingPoller> logger) : BackgroundService
{
    private readonly Dictionary<string, bool> _lastAnswered = [];
    private bool _registryAnswered = true;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var gateway = options.Value;
        // One connection pool for all polls; the channels do not own it.
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(2),
        };
        // One channel per replica address, opened when a replica appears and closed when it leaves.
        var channels = new Dictionary<string, GrpcChannel>(StringComparer.Ordinal);
        var registryAddress = services.Value.Registry;
        var registryChannel = Uri.TryCreate(registryAddress, UriKind.Absolute, out _) ? Open(registryAddress!, handler) : null;
        if (registryChannel is null)
        {
            LogNoRegistry(logger);
        }

        var interval = TimeSpan.FromMilliseconds(gateway.PollIntervalMs);
        var deadline = TimeSpan.FromMilliseconds(Math.Max(1000, gateway.PollIntervalMs));
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var members = await directory.CurrentAsync(stoppingToken);
                table.SetMembers(members);
                SyncChannels(channels, members, handler);
                var polls = members.Select(r => PollReplicaAsync(r, new GRPCInferenceService.GRPCInferenceServiceClient(channels[r.GrpcAddress]), deadline, stoppingToken)).ToList();
                if (registryChannel is not null)
                {
                    polls.Add(PollRegistryAsync(new RegistryService.RegistryServiceClient(registryChannel), deadline, stoppingToken));
                }
                await Task.WhenAll(polls);
                await refresh.WaitAsync(interval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            foreach (var channel in channels.Values)
            {
                channel.Dispose();
            }
            registryChannel?.Dispose();
        }
    }

    private static void SyncChannels(Dictionary<string, GrpcChannel> channels, IReadOnlyList<ReplicaOptions> members, HttpMessageHandler handler)
    {
        var wanted = members.Select(m => m.GrpcAddress).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in channels.Keys.Where(a => !wanted.Contains(a)).ToList())
        {
            channels[gone].Dispose();
            channels.Remove(gone);
        }
        foreach (var address in wanted.Where(a => !channels.ContainsKey(a)))
        {
            channels[address] = Open(address, handler);
        }
    }

    private async Task PollReplicaAsync(ReplicaOptions replica, GRPCInferenceService.GRPCInferenceServiceClient client, TimeSpan deadline, CancellationToken ct)
    {
        try
        {
            var index = await client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true },
                deadline: DateTime.UtcNow + deadline, cancellationToken: ct);
            var ready = new List<ModelVersionKey>();
            foreach (var model in index.Models)
            {
                // A version the gateway cannot order or pin (not a positive integer) is not routable.
                if ((model.State.Length == 0 || string.Equals(model.State, "READY", StringComparison.OrdinalIgnoreCase))
                    && long.TryParse(model.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
                {
                    ready.Add(new ModelVersionKey(model.Name, version));
                }
            }
            Changed(replica.Name, answered: true);
            if (table.ReportReplicaUp(replica.Name, ready))
            {
                LogReplicaServes(logger, replica.Name, replica.Pool, string.Join(", ", ready.Select(k => $"{k.Model}:{k.Version}")));
            }
        }
        catch (RpcException ex) when (!ct.IsCancellationRequested)
        {
            table.ReportReplicaDown(replica.Name);
            if (Changed(replica.Name, answered: false))
            {
                LogReplicaOut(logger, replica.Name, replica.Pool, ex.StatusCode, ex.Status.Detail);
            }
        }
    }

    private async Task PollRegistryAsync(RegistryService.RegistryServiceClient client, TimeSpan deadline, CancellationToken ct)
    {
        try
        {
            var models = await client.ListAllModelsAsync(deadline, ct);
            var aliases = new Dictionary<string, IReadOnlyDictionary<string, long>>(StringComparer.Ordinal);
            var latest = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var model in models)
            {
                aliases[model.Name] = new Dictionary<string, long>(model.Aliases, StringComparer.Ordinal);
                latest[model.Name] = model.LatestVersion;
            }
            table.ReportRegistry(aliases, latest);
            table.ReportDeployments(await ReadDeploymentsAsync(client, models, deadline, ct));
            if (!_registryAnswered)
            {
                LogRegistryBack(logger);
            }
            _registryAnswered = true;
        }
        catch (RpcException ex) when (!ct.IsCancellationRequested)
        {
            if (_registryAnswered)
            {
                LogRegistryUnreachable(logger, ex.StatusCode, ex.Status.Detail);
            }
            _registryAnswered = false;
        }
    }

    /// <summary>
    /// Each model's current deployment. A registry without deployments (Unimplemented) or a model
    /// without one means "no deployment"; any other failure keeps the deployment last seen.
    /// </summary>
    private async Task<Dictionary<string, DeploymentView>> ReadDeploymentsAsync(
        RegistryService.RegistryServiceClient client, List<Model> models, TimeSpan deadline, CancellationToken ct)
    {
        var previous = table.Deployments;
        var result = new Dictionary<string, DeploymentView>(StringComparer.Ordinal);
        foreach (var model in models)
        {
            try
            {
                var answer = await client.GetDeploymentAsync(new GetDeploymentRequest { ModelName = model.Name },
                    deadline: DateTime.UtcNow + deadline, cancellationToken: ct);
                var deployment = answer.Deployment;
                if (deployment is not null && deployment.Entries.Count > 0)
                {
                    result[model.Name] = new DeploymentView(deployment.Revision,
                        [.. deployment.Entries.Select(e => new WeightedVersion(e.Version, e.Weight, e.Pool))],
                        deployment.Shadow is { Percent: > 0 } shadow ? new ShadowView(shadow.Version, Math.Min(shadow.Percent, 100)) : null);
                }
            }
            catch (RpcException ex) when (!ct.IsCancellationRequested)
            {
                if (ex.StatusCode is not (StatusCode.Unimplemented or StatusCode.NotFound)
                    && previous.TryGetValue(model.Name, out var kept))
                {
                    result[model.Name] = kept;
                }
            }
        }
        return result;
    }

    /// <summary>Logs only transitions (and the first poll), not every poll.</summary>
    private bool Changed(string replica, bool answered)
    {
        lock (_lastAnswered)
        {
            var changed = !_lastAnswered.TryGetValue(replica, out var before) || before != answered;
            _lastAnswered[replica] = answered;
            return changed;
        }
    }

    private static GrpcChannel Open(string address, HttpMessageHandler handler) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        HttpHandler = handler,
        DisposeHttpClient = false,
        MaxReceiveMessageSize = MeshHostingExtensions.MaxMessageBytes,
    });

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Replica} (pool {Pool}) answers; ready: [{Versions}]")]
    private static partial void LogReplicaServes(ILogger logger, string replica, string pool, string versions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Replica} (pool {Pool}) is out: {StatusCode} {Detail}")]
    private static partial void LogReplicaOut(ILogger logger, string replica, string pool, StatusCode statusCode, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Services:Registry is not set: aliases (production ...) are unknown, an empty version goes to the newest version ready")]
    private static partial void LogNoRegistry(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registry does not answer ListModels ({StatusCode} {Detail}); keeping the aliases last seen")]
    private static partial void LogRegistryUnreachable(ILogger logger, StatusCode statusCode, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registry answers again; aliases are current")]
    private static partial void LogRegistryBack(ILogger logger);
}
