using System.Text.RegularExpressions;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MaaS.Contracts;
using MaaS.Gateway.V1;
using MaaS.ServiceDefaults;
using MassTransit;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Security;

/// <summary>maas.gateway.v1.KeyService: issue, list and revoke keys (the middleware lets only admin keys in).</summary>
public sealed partial class KeyGrpcService(
    ApiKeyStore store, IPublishEndpoint publisher, IOptions<GatewaySecurityOptions> options, ILogger<KeyGrpcService> logger)
    : KeyService.KeyServiceBase
{
    /// <summary>How long a create or revoke waits for the broker to take its ApiKeysChanged event.</summary>
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(5);

    public override async Task<CreateKeyResponse> CreateKey(CreateKeyRequest request, ServerCallContext context)
    {
        if (!NameRule().IsMatch(request.Name))
        {
            throw MeshErrors.InvalidArgument(
                $"name must be 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit; it is '{request.Name}'.");
        }
        if (request.Scopes.Count == 0)
        {
            throw MeshErrors.InvalidArgument($"scopes must name at least one of: {string.Join(", ", ApiScopeNames.All)}.");
        }
        var scopes = ApiScopes.None;
        foreach (var name in request.Scopes)
        {
            if (!ApiScopeNames.TryParse(name, out var scope))
            {
                throw MeshErrors.InvalidArgument($"scopes: '{name}' is not a scope; the scopes are {string.Join(", ", ApiScopeNames.All)}.");
            }
            scopes |= scope;
        }
        var rate = request.HasRequestsPerSecond ? request.RequestsPerSecond : options.Value.DefaultRequestsPerSecond;
        if (!double.IsFinite(rate) || rate < 0 || rate > TokenBucket.MaxRate)
        {
            throw MeshErrors.InvalidArgument($"requests_per_second must be between 0 (unlimited) and {TokenBucket.MaxRate:0}; it is {rate}.");
        }
        var burst = request.HasBurst ? request.Burst : (uint)options.Value.DefaultBurst;
        if (burst > TokenBucket.MaxBurst)
        {
            throw MeshErrors.InvalidArgument($"burst must be between 0 (the rate rounded up) and {TokenBucket.MaxBurst}; it is {burst}.");
        }

        var (key, token) = store.Create(request.Name, scopes, rate, (int)burst);
        LogCreated(logger, key.Id, key.Name, string.Join(',', ApiScopeNames.Format(key.Scopes)));
        await PublishChangedAsync(key.Id, ApiKeysChanged.Created);
        return new CreateKeyResponse { Key = ToMessage(key), Token = token };
    }

    public override Task<ListKeysResponse> ListKeys(ListKeysRequest request, ServerCallContext context)
    {
        var response = new ListKeysResponse();
        response.Keys.AddRange(store.List(request.IncludeRevoked).Select(ToMessage));
        return Task.FromResult(response);
    }

    public override async Task<RevokeKeyResponse> RevokeKey(RevokeKeyRequest request, ServerCallContext context)
    {
        if (!ApiKeyToken.IsId(request.Id))
        {
            throw MeshErrors.InvalidArgument($"id must be a key id of {ApiKeyToken.IdLength} lowercase hex digits (as ListKeys shows it); it is '{request.Id}'.");
        }
        var key = store.Revoke(request.Id);
        LogRevoked(logger, key.Id, key.Name);
        await PublishChangedAsync(key.Id, ApiKeysChanged.Revoked);
        return new RevokeKeyResponse { Key = ToMessage(key) };
    }

    /// <summary>
    /// Tells the other replicas to reload now. The change is already committed, so a broker that is away does
    /// not fail the call: the replicas' periodic reload (Gateway:Auth:RefreshSeconds) picks it up instead.
    /// </summary>
    private async Task PublishChangedAsync(string keyId, string change)
    {
        using var timeout = new CancellationTokenSource(PublishTimeout);
        try
        {
            await publisher.Publish(new ApiKeysChanged { KeyId = keyId, Change = change }, timeout.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogPublishFailed(logger, keyId, change, options.Value.RefreshSeconds, e.Message);
        }
    }

    private static ApiKey ToMessage(ApiKeyRecord record)
    {
        var message = new ApiKey
        {
            Id = record.Id,
            Name = record.Name,
            RequestsPerSecond = record.RatePerSecond,
            Burst = (uint)record.Burst,
            CreatedAt = Timestamp.FromDateTimeOffset(record.CreatedAt),
            Revoked = record.RevokedAt is not null,
        };
        message.Scopes.AddRange(ApiScopeNames.Format(record.Scopes));
        if (record.RevokedAt is { } revokedAt)
        {
            message.RevokedAt = Timestamp.FromDateTimeOffset(revokedAt);
        }
        return message;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex NameRule();

    [LoggerMessage(Level = LogLevel.Information, Message = "Created API key {KeyId} '{Name}' with scopes {Scopes}")]
    private static partial void LogCreated(ILogger logger, string keyId, string name, string scopes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish ApiKeysChanged for key {KeyId} ({Change}); other gateway replicas see it at their next reload, within {RefreshSeconds} s: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string keyId, string change, int refreshSeconds, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revoked API key {KeyId} '{Name}'")]
    private static partial void LogRevoked(ILogger logger, string keyId, string name);
}
