using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf;
using Grpc.Net.Client;
using MaaS.Contracts;
using MaaS.Registry.Tests.Stores;
using MaaS.Registry.V1;
using MassTransit;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MaaS.Registry.Tests;

/// <summary>
/// The outbox across a broker outage, on a real RabbitMQ: the registry (in process, SQLite, RabbitMQ
/// transport) keeps taking changes while the broker is stopped, and once it is back every event reaches a
/// consumer of this test exactly once, in the order the changes were made.
/// </summary>
public sealed class BrokerOutageTests : IAsyncLifetime
{
    private const string Model = "outage";
    // Generous: a 2-core CI machine runs the other test classes beside this one.
    private static readonly TimeSpan EventLimit = TimeSpan.FromSeconds(60);

    private readonly RabbitMqBroker _broker = new();
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("maas-registry-outage-").FullName;
    // Every delivery to the consumer, in arrival order, duplicates included.
    private readonly ConcurrentQueue<MeshMessage> _arrivals = new();
    private IBusControl? _consumer;
    private WebApplicationFactory<Program>? _factory;
    private GrpcChannel? _channel;
    private RegistryService.RegistryServiceClient _client = null!;

    public async Task InitializeAsync()
    {
        await _broker.StartAsync();
        _consumer = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)_broker.Port, "/", h =>
            {
                h.Username("guest");
                h.Password("guest");
            });
        });
        await _consumer.StartAsync(new CancellationTokenSource(EventLimit).Token);
        // A durable queue of our own, bound to the registry's two event types before the registry publishes.
        var endpoint = _consumer.ConnectReceiveEndpoint("registry-outage-tests-" + Guid.NewGuid().ToString("N")[..8], e =>
        {
            // One at a time, so the order the handlers see is the order the queue holds.
            e.PrefetchCount = 1;
            e.ConcurrentMessageLimit = 1;
            e.Handler<ModelVersionRegistered>(ctx => Record(ctx.Message));
            e.Handler<AliasMoved>(ctx => Record(ctx.Message));
        });
        await endpoint.Ready.WaitAsync(EventLimit);

        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Bus:Transport", "RabbitMq");
            builder.UseSetting("Bus:Host", "127.0.0.1");
            builder.UseSetting("Bus:Port", _broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            builder.UseSetting("Mesh:GrpcPort", "1");
            builder.UseSetting("Mesh:DataDirectory", _dataDirectory);
        });
        _channel = GrpcChannel.ForAddress(_factory.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = _factory.Server.CreateHandler() });
        _client = new RegistryService.RegistryServiceClient(_channel);
    }

    [Fact]
    public async Task Outage_ChangesWhileBrokerIsDown_EveryEventArrivesOnceInOrderAfterItReturns()
    {
        await _client.CreateModelAsync(new CreateModelRequest { Name = Model, Task = "regression" });
        for (var v = 1; v <= 3; v++) Assert.Equal(v, await RegisterAsync(v));
        await WaitUntilAsync(() => Registered().Count == 3, "the 3 events registered with the broker up");

        await _broker.StopAsync();
        for (var v = 4; v <= 8; v++) Assert.Equal(v, await RegisterAsync(v));
        var moved = await _client.SetAliasAsync(new SetAliasRequest { ModelName = Model, Alias = "production", Version = 5, Actor = "ops", Reason = "outage" });
        Assert.Equal(5, moved.Version);
        // The broker is away, so the changes made meanwhile are held in the outbox, not lost and not sent.
        Assert.Equal(6, CountSql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND message_type IN ('MaaS.Contracts.ModelVersionRegistered', 'MaaS.Contracts.AliasMoved');"));

        await _broker.StartAsync();
        // A last change after the return: the outbox publishes in order and the queue is FIFO, so once its
        // event is in, everything published before it (a duplicate included) has been delivered.
        Assert.Equal(9, await RegisterAsync(9));
        await WaitUntilAsync(() => Registered().Any(e => e.Version == 9), "every event after the broker's return");

        var expected = OutboxEventIds();
        Assert.Equal(10, expected.Count);
        var deliveries = _arrivals.GroupBy(e => e.EventId).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expected.Order(), deliveries.Keys.Order());
        Assert.All(deliveries, d => Assert.True(d.Value == 1, $"Event {d.Key} was delivered {d.Value} times."));
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7, 8, 9], Registered().Select(e => e.Version));
        var alias = Assert.Single(_arrivals.OfType<AliasMoved>());
        Assert.Equal(("production", 5L), (alias.Alias, alias.ToVersion));
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_factory is not null) await _factory.DisposeAsync();
        if (_consumer is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _consumer.StopAsync(stop.Token); }
            catch (OperationCanceledException) { /* the broker is stopped next either way */ }
        }
        await _broker.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDirectory, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }

    private Task Record(MeshMessage message)
    {
        _arrivals.Enqueue(message);
        return Task.CompletedTask;
    }

    // First deliveries of ModelVersionRegistered, in arrival order.
    private List<ModelVersionRegistered> Registered() =>
        _arrivals.OfType<ModelVersionRegistered>().DistinctBy(e => e.EventId).ToList();

    private async Task<long> RegisterAsync(int seed)
    {
        var artifact = RegistryHost.Bytes(64, seed);
        var manifest = new VersionManifest { ModelName = Model, ArtifactDigest = RegistryHost.Sha256(artifact), CreatedBy = "tests" };
        manifest.Inputs.Add(new TensorSpec { Name = "x", Datatype = "FP32", Shape = { -1, 1 } });
        manifest.Outputs.Add(new TensorSpec { Name = "y", Datatype = "FP32", Shape = { -1, 1 } });
        using var call = _client.RegisterVersion();
        await call.RequestStream.WriteAsync(new RegisterVersionRequest { Manifest = manifest });
        await call.RequestStream.WriteAsync(new RegisterVersionRequest { Chunk = ByteString.CopyFrom(artifact) });
        await call.RequestStream.CompleteAsync();
        return (await call.ResponseAsync).Version.Version;
    }

    // The ids of the events the registry wrote for the consumer's two types: what must arrive.
    private List<Guid> OutboxEventIds()
    {
        using var connection = RegistryStore.Sqlite.Open(_dataDirectory);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM outbox WHERE message_type IN ('MaaS.Contracts.ModelVersionRegistered', 'MaaS.Contracts.AliasMoved');";
        using var reader = command.ExecuteReader();
        var ids = new List<Guid>();
        while (reader.Read())
        {
            using var payload = System.Text.Json.JsonDocument.Parse(reader.GetString(0));
            ids.Add(payload.RootElement.GetProperty("EventId").GetGuid());
        }
        return ids;
    }

    private long CountSql(string sql)
    {
        using var connection = RegistryStore.Sqlite.Open(_dataDirectory);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < EventLimit,
                $"Timed out after {EventLimit.TotalSeconds:0} s waiting for {what}; arrived: " +
                string.Join(", ", _arrivals.Select(e => e is ModelVersionRegistered r ? $"v{r.Version}" : e.GetType().Name)));
            await Task.Delay(100);
        }
    }
}
