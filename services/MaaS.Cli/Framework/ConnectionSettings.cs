using System.Text.Json;

namespace MaaS.Cli.Framework;

/// <summary>The values of the global flags, as typed (null = not given).</summary>
public sealed record GlobalFlags(string? Address, string? Rest, string? ApiKey, string? ApiKeyFile);

/// <summary>
/// Where the gateway is and which key to send. Precedence, highest first: flag, environment
/// (MAAS_ADDRESS, MAAS_REST_ADDRESS, MAAS_API_KEY), config file ($MAAS_CONFIG, else ~/.config/maas/config.json),
/// then for the key the first line of the key file (--api-key-file, else the config's apiKeyFile, else .maas/admin.key),
/// then the local defaults.
/// </summary>
public sealed record ConnectionSettings(Uri GrpcAddress, Uri RestAddress, string? ApiKey, string KeySource)
{
    /// <summary>The gateway's gRPC address on one machine.</summary>
    public const string DefaultAddress = "http://127.0.0.1:8001";

    /// <summary>The gateway's REST address on one machine.</summary>
    public const string DefaultRestAddress = "http://127.0.0.1:8000";

    /// <summary>The usage text's account of the precedence.</summary>
    public const string Precedence = """
        address and key: flag > environment > config file > defaults
          --address / MAAS_ADDRESS / "address"            gateway gRPC (h2c), default http://127.0.0.1:8001
          --rest / MAAS_REST_ADDRESS / "restAddress"      gateway REST, default http://127.0.0.1:8000
          --api-key / MAAS_API_KEY / "apiKey", then the first line of --api-key-file / "apiKeyFile" / .maas/admin.key
          config file: $MAAS_CONFIG, else ~/.config/maas/config.json (a JSON object with the keys in quotes above)
          the key travels as `authorization: Bearer <key>`
        """;

    /// <summary>Resolves the settings; a malformed address or config file is a usage error.</summary>
    public static ConnectionSettings Resolve(GlobalFlags flags, CliHost host)
    {
        var config = ReadConfig(host);
        var grpc = First(flags.Address, host.Environment("MAAS_ADDRESS"), config.Address) ?? DefaultAddress;
        var rest = First(flags.Rest, host.Environment("MAAS_REST_ADDRESS"), config.RestAddress) ?? DefaultRestAddress;
        var (key, source) = ResolveKey(flags, host, config);
        return new ConnectionSettings(ParseAddress("--address", grpc), ParseAddress("--rest", rest), key, source);
    }

    private static (string? Key, string Source) ResolveKey(GlobalFlags flags, CliHost host, ConfigFile config)
    {
        if (Clean(flags.ApiKey) is { } flag) return (flag, "--api-key");
        if (Clean(host.Environment("MAAS_API_KEY")) is { } environment) return (environment, "MAAS_API_KEY");
        if (Clean(config.ApiKey) is { } configured) return (configured, "config file");
        var keyFile = First(flags.ApiKeyFile, config.ApiKeyFile) ?? CliOptions.LocalKeyFile;
        var path = Path.IsPathRooted(keyFile) ? keyFile : Path.Combine(host.WorkingDirectory, keyFile);
        // A missing key file means an open gateway (as the walkthrough always treated it): no key is sent.
        return File.Exists(path) && Clean(File.ReadLines(path).FirstOrDefault()) is { } fromFile ? (fromFile, keyFile) : (null, "none");
    }

    private static Uri ParseAddress(string flag, string text)
    {
        if (Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0) return uri;
        throw new UsageException($"{flag} must be an absolute http:// or https:// address, not '{text}'");
    }

    private static ConfigFile ReadConfig(CliHost host)
    {
        var explicitPath = Clean(host.Environment("MAAS_CONFIG"));
        var path = explicitPath ?? Path.Combine(host.HomeDirectory, ".config", "maas", "config.json");
        if (!File.Exists(path))
        {
            if (explicitPath is not null) throw new UsageException($"MAAS_CONFIG names '{explicitPath}', which does not exist");
            return new ConfigFile(null, null, null, null);
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new UsageException($"config file {path} must hold a JSON object");
            return new ConfigFile(Text(document, path, "address"), Text(document, path, "restAddress"), Text(document, path, "apiKey"), Text(document, path, "apiKeyFile"));
        }
        catch (JsonException ex)
        {
            throw new UsageException($"config file {path} is not valid JSON ({ex.Message})");
        }
    }

    private static string? Text(JsonDocument document, string path, string name)
    {
        if (!document.RootElement.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new UsageException($"config file {path}: \"{name}\" must be a string");
    }

    private static string? First(params string?[] values) => values.Select(Clean).FirstOrDefault(v => v is not null);

    private static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private sealed record ConfigFile(string? Address, string? RestAddress, string? ApiKey, string? ApiKeyFile);
}
