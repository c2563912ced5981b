using System.ComponentModel.DataAnnotations;

namespace MaaS.ServiceDefaults;

/// <summary>Which message broker the service talks to.</summary>
public sealed class BusOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Bus";

    /// <summary>RabbitMq for every real run; InMemory only for tests that host one service.</summary>
    [RegularExpression("^(RabbitMq|InMemory)$", ErrorMessage = "Bus:Transport must be RabbitMq or InMemory.")]
    public string Transport { get; set; } = "RabbitMq";

    /// <summary>Broker host.</summary>
    [Required]
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Broker AMQP port.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 5672;

    /// <summary>Virtual host.</summary>
    [Required]
    public string VirtualHost { get; set; } = "/";

    /// <summary>User.</summary>
    [Required]
    public string Username { get; set; } = "guest";

    /// <summary>Password.</summary>
    [Required]
    public string Password { get; set; } = "guest";

    /// <summary>Messages fetched ahead per consumer; 16 (the default) caps throughput at a few hundred/s.</summary>
    [Range(1, 10000)]
    public int PrefetchCount { get; set; } = 64;
}
