namespace MaaS.ServiceDefaults;

/// <summary>gRPC addresses of the other services, e.g. http://127.0.0.1:7001.</summary>
public sealed class ServiceUrlsOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Services";

    /// <summary>Registry gRPC address.</summary>
    public string? Registry { get; set; }

    /// <summary>Trainer gRPC address.</summary>
    public string? Trainer { get; set; }

    /// <summary>Updater gRPC address.</summary>
    public string? Updater { get; set; }

    /// <summary>The address named, or a start-up error that says which setting is missing.</summary>
    public Uri Require(string name)
    {
        var value = name switch
        {
            nameof(Registry) => Registry,
            nameof(Trainer) => Trainer,
            nameof(Updater) => Updater,
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown service"),
        };
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
        {
            throw new InvalidOperationException(
                $"Setting {Section}:{name} must be an absolute http(s) address of the {name} gRPC endpoint; it is '{value}'.");
        }
        return uri;
    }
}
