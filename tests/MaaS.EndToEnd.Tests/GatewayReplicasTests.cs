using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Gateway.V1;

namespace MaaS.EndToEnd.Tests;

/// <summary>
/// Two gateway processes on one PostgreSQL key store and one RabbitMQ (<see cref="GatewayReplicasMesh"/>): a key
/// created or revoked on one gateway holds on the other within seconds, carried by the ApiKeysChanged event
/// (the periodic reload is an hour away). Each test makes its own key, so they pass in any order.
/// </summary>
public sealed class GatewayReplicasTests(GatewayReplicasMesh mesh) : IClassFixture<GatewayReplicasMesh>, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly GrpcChannel a = GrpcChannel.ForAddress(mesh.GatewayA);
    private readonly GrpcChannel b = GrpcChannel.ForAddress(mesh.GatewayB);

    public void Dispose()
    {
        a.Dispose();
        b.Dispose();
    }

    [Fact]
    public async Task CreateKey_OnGatewayA_AcceptedByGatewayB()
    {
        var token = await CreateInferKeyAsync(a, "made-on-a");

        // Behind the gateways no inference replica answers: a call that passes the key check is answered
        // Unavailable ("No inference replica is answering."); an unknown key gets Unauthenticated before that.
        await WaitForStatusAsync(b, token, StatusCode.Unavailable, "gateway B accepts the key made on gateway A");
    }

    [Fact]
    public async Task RevokeKey_OnGatewayB_RefusedByGatewayA()
    {
        var token = await CreateInferKeyAsync(a, "revoked-on-b");
        await WaitForStatusAsync(b, token, StatusCode.Unavailable, "gateway B accepts the key before the revoke");
        Assert.Equal(StatusCode.Unavailable, await ServerLiveStatusAsync(a, token));

        await new KeyService.KeyServiceClient(b).RevokeKeyAsync(new RevokeKeyRequest { Id = IdOf(token) }, Bearer(mesh.AdminKey));

        Assert.Equal(StatusCode.Unauthenticated, await ServerLiveStatusAsync(b, token));
        await WaitForStatusAsync(a, token, StatusCode.Unauthenticated, "gateway A refuses the key revoked on gateway B");
    }

    [Fact]
    public async Task ListKeys_BothGateways_SameKeysAndOneSharedAdminKey()
    {
        await CreateInferKeyAsync(b, "listed");
        var lines = File.ReadAllLines(mesh.AdminKeyFile).Where(l => l.Trim().Length > 0).ToList();
        var admin = Assert.Single(lines).Trim();

        var onA = await new KeyService.KeyServiceClient(a).ListKeysAsync(new ListKeysRequest { IncludeRevoked = true }, Bearer(admin));
        var onB = await new KeyService.KeyServiceClient(b).ListKeysAsync(new ListKeysRequest { IncludeRevoked = true }, Bearer(admin));

        Assert.Equal(Describe(onA), Describe(onB));
        var adminKey = Assert.Single(onA.Keys, k => k.Scopes.Contains("admin"));
        Assert.Equal(IdOf(admin), adminKey.Id);
        Assert.Contains(onA.Keys, k => k.Name == "listed" && !k.Revoked);
        // The admin scope implies infer: both gateways take the file's key past the key check.
        Assert.Equal(StatusCode.Unavailable, await ServerLiveStatusAsync(a, admin));
        Assert.Equal(StatusCode.Unavailable, await ServerLiveStatusAsync(b, admin));
    }

    private async Task<string> CreateInferKeyAsync(GrpcChannel gateway, string name)
    {
        var created = await new KeyService.KeyServiceClient(gateway).CreateKeyAsync(
            new CreateKeyRequest { Name = name, Scopes = { "infer" } }, Bearer(mesh.AdminKey));
        return created.Token;
    }

    /// <summary>Calls ServerLive with <paramref name="token"/> every 100 ms until it ends in <paramref name="expected"/>; at most 10 s.</summary>
    private static async Task WaitForStatusAsync(GrpcChannel gateway, string token, StatusCode expected, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        StatusCode last;
        while (true)
        {
            last = await ServerLiveStatusAsync(gateway, token);
            if (last == expected || DateTime.UtcNow >= deadline) break;
            await Task.Delay(100);
        }
        Assert.True(last == expected, $"Expected {what} within {Patience.TotalSeconds:0} s (ServerLive answering {expected}); it last answered {last}.");
    }

    /// <summary>The status ServerLive ends in through <paramref name="gateway"/> with <paramref name="token"/> (bounded: 5 s).</summary>
    private static async Task<StatusCode> ServerLiveStatusAsync(GrpcChannel gateway, string token)
    {
        try
        {
            await new GRPCInferenceService.GRPCInferenceServiceClient(gateway).ServerLiveAsync(new ServerLiveRequest(), Bearer(token), deadline: DateTime.UtcNow.AddSeconds(5));
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    private static Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };

    /// <summary>The key id: the middle part of maas_&lt;id&gt;_&lt;secret&gt;.</summary>
    private static string IdOf(string token) => token.Split('_')[1];

    private static List<string> Describe(ListKeysResponse keys) =>
        keys.Keys.Select(k => $"{k.Id} {k.Name} [{string.Join(',', k.Scopes)}] revoked={k.Revoked}").ToList();
}
