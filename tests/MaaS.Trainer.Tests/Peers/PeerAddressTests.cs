using MaaS.ServiceDefaults;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.Peers;
using MaaS.Trainer.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Tests.Peers;

/// <summary>How Trainer:Peers entries are read and resolved, and the ListJobs cursor they page with.</summary>
public sealed class PeerAddressTests
{
    [Theory]
    [InlineData("http://10.0.0.5:7002", false, "http://10.0.0.5:7002/", false)]
    [InlineData("https://trainer-1.example:443", false, "https://trainer-1.example/", false)]
    [InlineData("http://trainer-headless:7002", true, "http://trainer-headless:7002/", true)]
    [InlineData("dns:///trainer-headless:7002", false, "http://trainer-headless:7002/", true)]
    public void TryParse_PeerForms_Read(string text, bool resolveDns, string address, bool resolve)
    {
        var peer = PeerAddress.TryParse(text, resolveDns);

        Assert.NotNull(peer);
        Assert.Equal(address, peer.Fixed.ToString());
        Assert.Equal(resolve, peer.Resolve);
    }

    [Theory]
    [InlineData("")]
    [InlineData("trainer-1:7002")]
    [InlineData("ftp://trainer-1:7002")]
    [InlineData("http://trainer-1:7002/grpc")]
    [InlineData("dns:///trainer-headless")]
    [InlineData("dns://8.8.8.8/trainer-headless:7002")]
    public void TryParse_NotAPeerAddress_Null(string text)
    {
        Assert.Null(PeerAddress.TryParse(text, false));
    }

    [Fact]
    public async Task AddressesAsync_DnsName_EveryAddressButThisReplicasOwn()
    {
        using var peers = Peers(ownPort: 7002, "dns:///localhost:7003", "dns:///localhost:7002", "http://10.0.0.5:7002");

        var addresses = await peers.AddressesAsync(CancellationToken.None);

        Assert.Contains(new Uri("http://127.0.0.1:7003"), addresses);
        Assert.Contains(new Uri("http://10.0.0.5:7002"), addresses);
        Assert.DoesNotContain(addresses, a => a.Port == 7002 && a.Host is "127.0.0.1" or "[::1]");
    }

    [Fact]
    public void JobCursor_Token_RoundTripsAndOrdersNewestFirst()
    {
        var at = new DateTime(2026, 11, 29, 5, 0, 0, DateTimeKind.Utc);
        Job Job(string id, int seconds) => new() { JobId = id, CreatedAt = Timestamp.FromDateTime(at.AddSeconds(seconds)) };
        var jobs = new[] { Job("job-a", 1), Job("job-c", 2), Job("job-b", 2), Job("job-d", 0) };

        var cursor = JobCursor.Of(jobs[1]);
        Assert.True(JobCursor.TryParse(cursor.ToToken(), out var read));

        Assert.Equal(cursor, read);
        Assert.StartsWith("c1.", cursor.ToToken());
        Assert.Equal(["job-c", "job-b", "job-a", "job-d"], jobs.Order(JobCursor.NewestFirst).Select(j => j.JobId));
    }

    private static TrainerPeers Peers(int ownPort, params string[] entries) => new(
        Options.Create(new TrainerOptions { Peers = [.. entries] }),
        Options.Create(new MeshHostOptions { GrpcPort = ownPort }),
        new PeerChannelFactory(Options.Create(new TrainerOptions())),
        TimeProvider.System,
        NullLogger<TrainerPeers>.Instance);
}
