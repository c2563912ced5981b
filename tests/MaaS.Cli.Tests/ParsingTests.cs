namespace MaaS.Cli.Tests;

/// <summary>Malformed arguments are refused before any call: exit 2, one error line, and that command's usage line.</summary>
public sealed class ParsingTests : IDisposable
{
    private readonly CliRunner cli = new();

    public static TheoryData<string, string> Malformed => new()
    {
        { "models get", "maas models get" },
        { "models list --limit 0", "maas models list" },
        { "models search --limit many", "maas models search" },
        { "models plot linear-regression --out chart.txt", "maas models plot" },
        { "models list --output yaml", "maas models list" },
        { "models get m --address not-a-url", "maas models get" },
        { "versions list", "maas versions list" },
        { "versions get linear-regression 0", "maas versions get" },
        { "versions archive linear-regression two", "maas versions archive" },
        { "versions delete linear-regression", "maas versions delete" },
        { "aliases set linear-regression production", "maas aliases set" },
        { "aliases history", "maas aliases history" },
        { "aliases delete linear-regression", "maas aliases delete" },
        { "rollback", "maas rollback" },
        { "datasets upload /no/such/file.csv", "maas datasets upload" },
        { "datasets get d --version -1", "maas datasets get" },
        { "datasets list --limit -5", "maas datasets list" },
        { "deployments set m --target 1=50", "maas deployments set" },
        { "deployments set m --target one=100", "maas deployments set" },
        { "deployments set m", "maas deployments set" },
        { "deployments set m --undeploy --target 1=100", "maas deployments set" },
        { "deployments set m --target 1=100 --shadow 2", "maas deployments set" },
        { "deployments get", "maas deployments get" },
        { "deployments history", "maas deployments history" },
        { "train --model m --dataset d", "maas train" },
        { "train --model m --dataset d --label y --epochs many", "maas train" },
        { "train --model m --dataset d --label y --hidden 16,wide", "maas train" },
        { "train --spec /no/such/spec.json", "maas train" },
        { "jobs list --state sleeping", "maas jobs list" },
        { "jobs get", "maas jobs get" },
        { "jobs watch", "maas jobs watch" },
        { "jobs cancel", "maas jobs cancel" },
        { "jobs plot job-1 --out loss.jpg", "maas jobs plot" },
        { "jobs", "maas jobs" },
        { "policies get", "maas policies get" },
        { "policies set m --canary-steps 50,10,100", "maas policies set" },
        { "policies set m --canary-steps 10,50", "maas policies set" },
        { "policies set m --range x=5", "maas policies set" },
        { "policies set m --no-rollout --bake-seconds 5", "maas policies set" },
        { "policies list extra", "maas policies list" },
        { "rollouts start m 0", "maas rollouts start" },
        { "rollouts start m 2 --bake-seconds 5", "maas rollouts start" },
        { "rollouts get", "maas rollouts get" },
        { "rollouts advance", "maas rollouts advance" },
        { "rollouts abort", "maas rollouts abort" },
        { "rollouts rollback", "maas rollouts rollback" },
        { "timeline m --since yesterday", "maas timeline" },
        { "timeline", "maas timeline" },
        { "market search --kind dataset", "maas market search" },
        { "market get", "maas market get" },
        { "market install", "maas market install" },
        { "keys create ci", "maas keys create" },
        { "keys create ci --scope root", "maas keys create" },
        { "keys revoke 12345", "maas keys revoke" },
        { "keys list now", "maas keys list" },
        { "infer m", "maas infer" },
        { "infer m --input x=2:FP32:1", "maas infer" },
        { "infer m --input x=1:FP8:1", "maas infer" },
        { "infer m --input x=1:INT8:300", "maas infer" },
        { "infer m --input {bad-json", "maas infer" },
        { "infer m --input x=1:FP32:1 --version latest", "maas infer" },
        { "walkthrough --timeout-seconds 0", "maas walkthrough" },
        { "frobnicate", "maas <models|" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task Run_MalformedArguments_ExitsTwoWithTheCommandsUsageAndCallsNothing(string line, string usage)
    {
        var result = await cli.RunAsync(line.Split(' '));

        Assert.Equal(2, result.ExitCode);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("error: usage: ", lines[0]);
        Assert.StartsWith($"usage: {usage}", lines[1]);
        Assert.Equal(0, result.Host.ChannelsOpened);
        Assert.Equal(0, result.Host.HttpClientsMade);
        Assert.Equal("", result.Out);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public async Task Run_NoArguments_PrintsTheOverviewAndExitsTwo()
    {
        var result = await cli.RunAsync();

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("maas models list", result.Error);
        Assert.Contains("exit codes:", result.Error);
        Assert.Contains("flag > environment > config file", result.Error);
    }

    [Fact]
    public async Task Run_Help_ListsEveryCommandWithExitCodesAndPrecedence()
    {
        var result = await cli.RunAsync("--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var command in new[]
                 {
                     "models list", "models get", "models search", "models plot", "versions list", "versions get", "versions archive", "aliases set",
                     "aliases history", "aliases delete", "rollback MODEL", "datasets upload FILE", "datasets list", "datasets get", "deployments get",
                     "deployments set", "deployments history", "train --model", "jobs list", "jobs get", "jobs watch", "jobs cancel", "jobs plot",
                     "policies get", "policies set", "policies list", "rollouts start", "rollouts get", "rollouts advance", "rollouts abort",
                     "rollouts rollback", "timeline MODEL", "market search", "market install", "keys create", "keys list", "keys revoke", "infer MODEL",
                     "walkthrough",
                 })
        {
            Assert.Contains($"maas {command}", result.Out);
        }
        Assert.Contains("2 usage", result.Out);
        Assert.Contains("3 not found", result.Out);
        Assert.Contains("6 unauthenticated", result.Out);
    }

    [Fact]
    public async Task Run_CommandHelp_ShowsItsOptionsAndExitsZero()
    {
        var result = await cli.RunAsync("train", "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--validation-split", result.Out);
        Assert.Equal(0, result.Host.ChannelsOpened);
    }

    public void Dispose() => cli.Dispose();
}
