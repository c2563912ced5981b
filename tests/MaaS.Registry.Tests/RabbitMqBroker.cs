using MaaS.Testing;

namespace MaaS.Registry.Tests;

/// <summary>
/// A private RabbitMQ broker run by infra/rabbitmq.sh on free loopback ports, its state (mnesia, cookie,
/// logs, epmd) in a temporary folder, so it can be stopped and started again with its durable queues kept.
/// </summary>
public sealed class RabbitMqBroker
{
    private readonly InfraScript _script;
    private readonly string _folder;

    /// <summary>Picks the ports and the folder; starts nothing.</summary>
    public RabbitMqBroker()
    {
        Port = FreePorts.One();
        _folder = InfraScript.OpenTempFolder("maas-registry-rabbit-");
        _script = InfraScript.RabbitMq(RepoPaths.AboveBinaries(), Port, FreePorts.One(), FreePorts.One(), _folder);
    }

    /// <summary>The AMQP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Starts the broker (idempotent) and returns once it takes connections.</summary>
    // The script installs the broker when missing, hence the long limit; a plain start takes seconds.
    public Task StartAsync() => _script.StartAsync(TimeSpan.FromMinutes(5));

    /// <summary>Stops the broker and its private epmd (idempotent).</summary>
    public Task StopAsync() => _script.StopAsync(TimeSpan.FromMinutes(2));

    /// <summary>Stops the broker and removes its folder; never throws, so it is safe on the way out.</summary>
    public async Task DisposeAsync()
    {
        try { await StopAsync(); }
        catch (HarnessException) { /* already gone, or the script failed: nothing more to do here */ }
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
        catch (UnauthorizedAccessException) { /* the cookie file is read-only on some systems */ }
    }
}
