using System.Globalization;
using Grpc.Core;
using MaaS.Gateway.Forwarding;
using Microsoft.Net.Http.Headers;

namespace MaaS.Gateway.Security;

/// <summary>
/// Checks the caller's key against what the path needs (<see cref="ScopeTable"/>) and the key's rate
/// limit, before any forwarding and without reading the body. A refusal is the gateway's own answer:
/// a trailers-only gRPC status or a REST error. The key is removed from the request it lets through,
/// so it never reaches the services behind the gateway or their logs.
/// </summary>
public sealed class GatewaySecurityMiddleware(RequestDelegate next, ApiKeyStore store, bool openInference)
{
    private const string Bearer = "Bearer ";
    private const string MalformedMessage = "The authorization header must be 'Bearer maas_<id>_<secret>' with a key issued by this gateway.";
    private const string UnknownMessage = "The API key is not valid here: it was never issued by this gateway, or it has been revoked.";

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        var requirement = ScopeTable.For(path);
        if (requirement == AccessRequirement.Open)
        {
            return next(context);
        }

        var header = context.Request.Headers.Authorization;
        if (header.Count == 0 || string.IsNullOrEmpty(header[0]))
        {
            if (openInference && requirement == AccessRequirement.Infer)
            {
                return next(context);
            }
            SecurityMetrics.Rejected(SecurityMetrics.Missing);
            return RefuseAsync(context, StatusCode.Unauthenticated,
                $"{path} needs an API key (scope '{ApiScopeNames.Needed(requirement)}'): send the header 'authorization: Bearer <key>'.");
        }
        var value = header.Count == 1 ? header[0].AsSpan() : default;
        if (!value.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase)
            || !ApiKeyToken.TryGetId(value[Bearer.Length..].Trim(), out var id))
        {
            SecurityMetrics.Rejected(SecurityMetrics.Malformed);
            return RefuseAsync(context, StatusCode.Unauthenticated, MalformedMessage);
        }
        var token = value[Bearer.Length..].Trim();
        if (!store.TryFind(id, out var key) || !ApiKeyToken.Matches(token, key.Hash))
        {
            SecurityMetrics.Rejected(SecurityMetrics.Unknown);
            return RefuseAsync(context, StatusCode.Unauthenticated, UnknownMessage);
        }
        var record = key.Record;
        if (!ApiScopeNames.Grants(record.Scopes, requirement))
        {
            SecurityMetrics.Rejected(SecurityMetrics.Scope);
            return RefuseAsync(context, StatusCode.PermissionDenied,
                $"{path} needs the scope '{ApiScopeNames.Needed(requirement)}'; the key '{record.Name}' has only: {string.Join(", ", ApiScopeNames.Format(record.Scopes))}.");
        }
        if (key.Bucket is { } bucket && !bucket.TryTake(out var retryAfter))
        {
            SecurityMetrics.Limited(record.Name);
            return RefuseRateLimitedAsync(context, record, bucket, retryAfter);
        }

        context.Request.Headers.Authorization = default;
        return next(context);
    }

    private static Task RefuseRateLimitedAsync(HttpContext context, ApiKeyRecord record, TokenBucket bucket, TimeSpan retryAfter)
    {
        var milliseconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalMilliseconds));
        var message = string.Create(CultureInfo.InvariantCulture,
            $"The key '{record.Name}' is over its rate limit of {bucket.RatePerSecond} requests/s (burst {bucket.Burst}); retry in {milliseconds} ms.");
        if (GatewayResponses.IsGrpc(context.Request))
        {
            var written = GatewayResponses.WriteGrpcErrorAsync(context, StatusCode.ResourceExhausted, message);
            // gRFC A6 server pushback: a client retry policy waits this long before its next attempt.
            context.Response.Headers["grpc-retry-pushback-ms"] = milliseconds.ToString(CultureInfo.InvariantCulture);
            return written;
        }
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        // Set once the error writer has cleared the response, just before the headers go out.
        context.Response.OnStarting(() =>
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        });
        return GatewayResponses.WriteRestErrorAsync(context, StatusCodes.Status429TooManyRequests, message);
    }

    private static Task RefuseAsync(HttpContext context, StatusCode code, string message)
    {
        if (GatewayResponses.IsGrpc(context.Request))
        {
            return GatewayResponses.WriteGrpcErrorAsync(context, code, message);
        }
        if (code == StatusCode.Unauthenticated)
        {
            // RFC 6750: a 401 names the scheme the client should use.
            context.Response.OnStarting(() =>
            {
                context.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
                return Task.CompletedTask;
            });
        }
        return GatewayResponses.WriteRestErrorAsync(context,
            code == StatusCode.Unauthenticated ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden, message);
    }
}
