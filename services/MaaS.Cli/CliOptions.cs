namespace MaaS.Cli;

/// <summary>What the walkthrough runs with (resolved by the command framework from flags, environment and config).</summary>
public sealed record CliOptions(string Command, Uri GrpcAddress, Uri RestAddress, TimeSpan Timeout, string? ApiKey = null)
{
    /// <summary>Where the local run writes the admin key it creates on first start.</summary>
    public const string LocalKeyFile = ".maas/admin.key";
}
