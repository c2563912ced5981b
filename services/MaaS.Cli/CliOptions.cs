namespace MaaS.Cli;

/// <summary>What the command line asked for; addresses from flags, else MAAS_ADDRESS / MAAS_REST_ADDRESS, else the local gateway.</summary>
public sealed record CliOptions(string Command, Uri GrpcAddress, Uri RestAddress, TimeSpan Timeout, string? ApiKey = null)
{
    /// <summary>Where the local run writes the admin key it creates on first start.</summary>
    public const string LocalKeyFile = ".maas/admin.key";

    /// <summary>How to call the tool.</summary>
    public const string Usage = """
        usage: maas walkthrough [--address http://127.0.0.1:8001] [--rest http://127.0.0.1:8000] [--timeout-seconds 300]
                                [--api-key-file .maas/admin.key]
          walkthrough   train → register → deploy → serve → update the linear-regression example, printing each step
        environment: MAAS_ADDRESS (gateway gRPC), MAAS_REST_ADDRESS (gateway REST), MAAS_API_KEY (the key itself;
          wins over the file). The key is sent as `authorization: Bearer <key>`; the walkthrough needs admin scope.
        """;

    /// <summary>Parses the arguments, or null when they make no sense.</summary>
    public static CliOptions? Parse(string[] args)
    {
        if (args.Length == 0 || args[0] != "walkthrough") return null;
        var grpc = Environment.GetEnvironmentVariable("MAAS_ADDRESS") ?? "http://127.0.0.1:8001";
        var rest = Environment.GetEnvironmentVariable("MAAS_REST_ADDRESS") ?? "http://127.0.0.1:8000";
        var timeout = 300;
        var keyFile = LocalKeyFile;
        for (var i = 1; i < args.Length; i++)
        {
            if (i + 1 >= args.Length) return null;
            switch (args[i])
            {
                case "--address": grpc = args[++i]; break;
                case "--rest": rest = args[++i]; break;
                case "--api-key-file": keyFile = args[++i]; break;
                case "--timeout-seconds" when int.TryParse(args[i + 1], out timeout) && timeout > 0: i++; break;
                default: return null;
            }
        }
        if (!Uri.TryCreate(grpc, UriKind.Absolute, out var grpcUri) || !Uri.TryCreate(rest, UriKind.Absolute, out var restUri)) return null;
        return new CliOptions(args[0], grpcUri, restUri, TimeSpan.FromSeconds(timeout), ReadKey(keyFile));
    }

    /// <summary>MAAS_API_KEY, else the key file's first line when it exists, else none (an open gateway).</summary>
    private static string? ReadKey(string keyFile)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("MAAS_API_KEY");
        if (!string.IsNullOrWhiteSpace(fromEnvironment)) return fromEnvironment.Trim();
        return File.Exists(keyFile) ? File.ReadLines(keyFile).FirstOrDefault()?.Trim() : null;
    }
}
