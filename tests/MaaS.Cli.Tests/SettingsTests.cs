using MaaS.Cli.Framework;
using MaaS.Cli.Tests.Fakes;

namespace MaaS.Cli.Tests;

/// <summary>Address and key: flag &gt; environment &gt; config file &gt; key file &gt; defaults.</summary>
public sealed class SettingsTests : IDisposable
{
    private readonly CliRunner cli = new();

    [Fact]
    public void Resolve_NothingGiven_UsesTheLocalGatewayAndNoKey()
    {
        var settings = Resolve(new GlobalFlags(null, null, null, null));

        Assert.Equal(new Uri("http://127.0.0.1:8001"), settings.GrpcAddress);
        Assert.Equal(new Uri("http://127.0.0.1:8000"), settings.RestAddress);
        Assert.Null(settings.ApiKey);
    }

    [Fact]
    public void Resolve_FlagEnvironmentConfigAndFile_FlagWins()
    {
        WriteConfig("""{"address": "http://config:1", "apiKey": "from-config"}""");
        WriteKeyFile("from-file");
        cli.Environment["MAAS_ADDRESS"] = "http://env:1";
        cli.Environment["MAAS_API_KEY"] = "from-env";

        var settings = Resolve(new GlobalFlags("http://flag:1", null, "from-flag", null));

        Assert.Equal(new Uri("http://flag:1"), settings.GrpcAddress);
        Assert.Equal("from-flag", settings.ApiKey);
    }

    [Fact]
    public void Resolve_EnvironmentConfigAndFile_EnvironmentWins()
    {
        WriteConfig("""{"address": "http://config:1", "apiKey": "from-config"}""");
        WriteKeyFile("from-file");
        cli.Environment["MAAS_ADDRESS"] = "http://env:1";
        cli.Environment["MAAS_API_KEY"] = "from-env";

        var settings = Resolve(new GlobalFlags(null, null, null, null));

        Assert.Equal(new Uri("http://env:1"), settings.GrpcAddress);
        Assert.Equal("from-env", settings.ApiKey);
        Assert.Equal("MAAS_API_KEY", settings.KeySource);
    }

    [Fact]
    public void Resolve_ConfigAndFile_ConfigWins()
    {
        WriteConfig("""{"address": "http://config:1", "restAddress": "http://config:2", "apiKey": "from-config"}""");
        WriteKeyFile("from-file");

        var settings = Resolve(new GlobalFlags(null, null, null, null));

        Assert.Equal(new Uri("http://config:1"), settings.GrpcAddress);
        Assert.Equal(new Uri("http://config:2"), settings.RestAddress);
        Assert.Equal("from-config", settings.ApiKey);
    }

    [Fact]
    public void Resolve_OnlyTheLocalKeyFile_ReadsItsFirstLine()
    {
        WriteKeyFile("from-file\nsecond line");

        Assert.Equal("from-file", Resolve(new GlobalFlags(null, null, null, null)).ApiKey);
    }

    [Fact]
    public void Resolve_MaasConfig_ReadsThatFileInsteadOfTheHomeOne()
    {
        WriteConfig("""{"address": "http://home:1"}""");
        var other = cli.PathOf("other.json");
        File.WriteAllText(other, """{"address": "http://other:1", "apiKeyFile": "keys/k.txt"}""");
        Directory.CreateDirectory(cli.PathOf("keys"));
        File.WriteAllText(cli.PathOf("keys/k.txt"), "from-config-key-file");
        cli.Environment["MAAS_CONFIG"] = other;

        var settings = Resolve(new GlobalFlags(null, null, null, null));

        Assert.Equal(new Uri("http://other:1"), settings.GrpcAddress);
        Assert.Equal("from-config-key-file", settings.ApiKey);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1, 2]")]
    [InlineData("""{"address": 8001}""")]
    public async Task Run_BrokenConfigFile_IsAUsageError(string content)
    {
        WriteConfig(content);

        var result = await cli.RunAsync("models", "list");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("config file", result.Error);
        Assert.Equal(0, result.Host.ChannelsOpened);
    }

    [Fact]
    public async Task Run_MaasConfigNamesNoFile_IsAUsageError()
    {
        cli.Environment["MAAS_CONFIG"] = cli.PathOf("missing.json");

        var result = await cli.RunAsync("models", "list");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("MAAS_CONFIG names", result.Error);
    }

    [Fact]
    public async Task Run_KeyFromFlagAndEnvironment_SendsTheFlagsKeyAsBearer()
    {
        await using var mesh = await FakeMesh.StartAsync();
        cli.Environment["MAAS_API_KEY"] = "from-env";

        var result = await cli.RunAsync("models", "list", "--api-key", "from-flag", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Bearer from-flag", mesh.State.LastAuthorization);
    }

    [Fact]
    public async Task Run_AddressFromEnvironmentAndKeyFromConfig_ReachesThatGatewayWithThatKey()
    {
        await using var mesh = await FakeMesh.StartAsync();
        cli.Environment["MAAS_ADDRESS"] = mesh.Address;
        WriteConfig("""{"address": "http://127.0.0.1:1", "apiKey": "from-config"}""");

        var result = await cli.RunAsync("models", "list");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Bearer from-config", mesh.State.LastAuthorization);
    }

    [Fact]
    public async Task Run_NoKeyAnywhere_SendsNoAuthorization()
    {
        await using var mesh = await FakeMesh.StartAsync();

        var result = await cli.RunAsync("models", "list", "--address", mesh.Address);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", mesh.State.LastAuthorization);
    }

    private ConnectionSettings Resolve(GlobalFlags flags) => ConnectionSettings.Resolve(flags, new CliHost
    {
        Out = TextWriter.Null,
        Error = TextWriter.Null,
        Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(TextWriter.Null) }),
        Environment = name => cli.Environment.GetValueOrDefault(name),
        WorkingDirectory = cli.Folder,
        HomeDirectory = cli.Folder,
    });

    private void WriteConfig(string content)
    {
        Directory.CreateDirectory(cli.PathOf(".config/maas"));
        File.WriteAllText(cli.PathOf(".config/maas/config.json"), content);
    }

    private void WriteKeyFile(string content)
    {
        Directory.CreateDirectory(cli.PathOf(".maas"));
        File.WriteAllText(cli.PathOf(".maas/admin.key"), content);
    }

    public void Dispose() => cli.Dispose();
}
