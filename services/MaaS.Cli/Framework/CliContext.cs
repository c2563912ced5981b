using System.CommandLine;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Inference;
using MaaS.Gateway.V1;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using MaaS.Updater.V1;
using Spectre.Console;

namespace MaaS.Cli.Framework;

/// <summary>
/// One command's run: its parsed values, where output goes, and the gateway clients. Nothing connects until a
/// client is first used, so a command that validates its arguments first calls nothing when they are malformed.
/// </summary>
public sealed class CliContext : IDisposable
{
    private readonly GlobalOptions globals;
    private ConnectionSettings? connection;
    private GrpcChannel? channel;
    private CallInvoker? invoker;
    private HttpClient? rest;

    internal CliContext(CliHost host, ParseResult parse, GlobalOptions globals, CancellationToken cancellation)
    {
        Host = host;
        Parse = parse;
        this.globals = globals;
        Cancellation = cancellation;
    }

    /// <summary>Streams, environment, channel factory.</summary>
    public CliHost Host { get; }

    /// <summary>The parsed command line.</summary>
    public ParseResult Parse { get; }

    /// <summary>Ends the command (deadline or Ctrl-C).</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Whether --output json was asked for.</summary>
    public bool Json => Parse.GetValue(globals.Output) == "json";

    /// <summary>Where results go.</summary>
    public TextWriter Out => Host.Out;

    /// <summary>The console tables and progress render on.</summary>
    public IAnsiConsole Console => Host.Console;

    /// <summary>The --timeout-seconds value, when given.</summary>
    public int? TimeoutSeconds => Parse.GetValue(globals.TimeoutSeconds);

    /// <summary>Address and key after the precedence rules (resolved once; a malformed value is a usage error).</summary>
    public ConnectionSettings Connection => connection ??= ConnectionSettings.Resolve(
        new GlobalFlags(Parse.GetValue(globals.Address), Parse.GetValue(globals.Rest), Parse.GetValue(globals.ApiKey), Parse.GetValue(globals.ApiKeyFile)),
        Host);

    /// <summary>The value of an option or argument of the command.</summary>
    public T Value<T>(Option<T> option) => Parse.GetValue(option)!;

    /// <summary>The value of an argument of the command.</summary>
    public T Value<T>(Argument<T> argument) => Parse.GetValue(argument)!;

    /// <summary>Registry (models, versions, aliases, datasets, deployments).</summary>
    public RegistryService.RegistryServiceClient Registry => new(Invoker);

    /// <summary>The model market.</summary>
    public MarketService.MarketServiceClient Market => new(Invoker);

    /// <summary>Training jobs.</summary>
    public TrainerService.TrainerServiceClient Trainer => new(Invoker);

    /// <summary>Policies, rollouts, the timeline.</summary>
    public UpdaterService.UpdaterServiceClient Updater => new(Invoker);

    /// <summary>The gateway's API keys.</summary>
    public KeyService.KeyServiceClient Keys => new(Invoker);

    /// <summary>Open Inference Protocol over gRPC.</summary>
    public GRPCInferenceService.GRPCInferenceServiceClient Inference => new(Invoker);

    /// <summary>The gateway's REST side, with the key as a bearer header.</summary>
    public HttpClient Rest
    {
        get
        {
            if (rest is not null) return rest;
            rest = Host.MakeHttpClient(Connection.RestAddress);
            if (Connection.ApiKey is { } key) rest.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return rest;
        }
    }

    /// <summary>Every call carries the key as `authorization: Bearer` metadata.</summary>
    private CallInvoker Invoker
    {
        get
        {
            if (invoker is not null) return invoker;
            var settings = Connection;
            channel = Host.OpenChannel(settings.GrpcAddress);
            invoker = settings.ApiKey is { } key
                ? channel.Intercept(metadata =>
                {
                    metadata.Add("authorization", $"Bearer {key}");
                    return metadata;
                })
                : channel.CreateCallInvoker();
            return invoker;
        }
    }

    /// <summary>Writes a response message: JSON for scripts, else whatever <paramref name="table"/> draws.</summary>
    public void Emit(IMessage message, Action table)
    {
        if (Json)
        {
            Out.WriteLine(Output.Json(message));
            return;
        }
        table();
    }

    /// <summary>Writes a line for people (nothing in JSON mode, where only the messages are printed).</summary>
    public void Say(string text)
    {
        if (!Json) Console.Write(new Text(text + "\n"));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        channel?.Dispose();
        rest?.Dispose();
    }
}
