using System.Net;
using System.Text.Json;
using Grpc.Core;
using MaaS.Cli.Tests.Fakes;
using MaaS.Updater.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MaaS.Cli.Tests;

/// <summary>`maas data ingest|rows`, `maas retrain` and `maas updates status` against a fake updater on loopback.</summary>
public sealed class UpdateCommandsTests : IAsyncLifetime
{
    private readonly CliRunner cli = new();
    private readonly UpdaterSeen seen = new();
    private WebApplication app = null!;
    private string address = "";

    [Fact]
    public async Task DataIngest_CsvFile_SendsModelFormatAndEveryByteThenPrintsTheReport()
    {
        var file = cli.PathOf("new-rows.csv");
        var csv = "x,y\n" + string.Join('\n', Enumerable.Range(0, 30_000).Select(i => $"{i},{3 * i + 1}")) + "\n";
        await File.WriteAllTextAsync(file, csv);

        var result = await cli.RunAsync("data", "ingest", file, "--model", "linear-regression", "--address", address);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(("linear-regression", "csv", false), (seen.Upload!.ModelName, seen.Upload.Format, seen.Upload.Feedback));
        Assert.Equal(new FileInfo(file).Length, seen.UploadedBytes);
        Assert.Contains("30000 in, 29997 kept", result.Out);
        Assert.Contains("duplicate=1, missing=2", result.Out);
        Assert.Contains("linear-regression-retrain v3", result.Out);
        Assert.Contains("triggered: 100 kept rows since the last training (policy: 100)", result.Out);
        // The first issues, row by row.
        Assert.Matches(@"7\s+missing\s+y", result.Out);
    }

    [Fact]
    public async Task DataIngest_ParquetExtensionAndFeedback_SendsParquetAndTheFlag()
    {
        var file = cli.PathOf("rows.parquet");
        await File.WriteAllBytesAsync(file, [0x50, 0x41, 0x52, 0x31]);

        var result = await cli.RunAsync("data", "ingest", file, "--model", "linear-regression", "--feedback", "--address", address);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(("parquet", true), (seen.Upload!.Format, seen.Upload.Feedback));
    }

    [Fact]
    public async Task DataIngest_Json_PrintsTheWholeReport()
    {
        var file = cli.PathOf("rows.csv");
        await File.WriteAllTextAsync(file, "x,y\n1,4\n");

        var result = await cli.RunAsync("data", "ingest", file, "--model", "linear-regression", "--output", "json", "--address", address);

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Out);
        var report = json.RootElement.GetProperty("report");
        Assert.True(report.GetProperty("retrainTriggered").GetBoolean());
        Assert.Equal("3", report.GetProperty("datasetVersion").GetString());
        Assert.Equal(3, report.GetProperty("issues").GetArrayLength());
    }

    [Fact]
    public async Task DataIngest_ModelWithoutProduction_ExitsFourWithTheSentence()
    {
        var file = cli.PathOf("rows.csv");
        await File.WriteAllTextAsync(file, "x,y\n1,4\n");

        var result = await cli.RunAsync("data", "ingest", file, "--model", "fresh", "--address", address);

        Assert.Equal(4, result.ExitCode);
        Assert.Equal("error: FailedPrecondition: model 'fresh' has no production version", result.Error.TrimEnd());
    }

    [Fact]
    public async Task DataRows_TypedRows_SendsColumnsAndValuesInOrder()
    {
        var result = await cli.RunAsync("data", "rows", "--model", "linear-regression", "--columns", "x, y", "--row", "1,3", "--row", "-2.5,nan",
            "--address", address);

        Assert.Equal(0, result.ExitCode);
        var sent = seen.Rows!;
        Assert.Equal(["x", "y"], sent.Columns);
        Assert.Equal([1.0, 3.0], sent.Rows[0].Values);
        Assert.Equal(-2.5, sent.Rows[1].Values[0]);
        Assert.True(double.IsNaN(sent.Rows[1].Values[1]));
        Assert.False(sent.Feedback);
        Assert.Contains("2 in, 1 kept", result.Out);
        Assert.Contains("not triggered: 1 of 100 rows since the last training", result.Out);
    }

    [Fact]
    public async Task Retrain_Model_SendsReasonAndPrintsTheJob()
    {
        var result = await cli.RunAsync("retrain", "linear-regression", "--reason", "new labels", "--address", address);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(("linear-regression", "new labels"), (seen.Retrain!.ModelName, seen.Retrain.Reason));
        Assert.StartsWith("retraining linear-regression: job job-7 submitted", result.Out);
    }

    [Fact]
    public async Task Retrain_WhileOneRuns_ExitsFour()
    {
        var result = await cli.RunAsync("retrain", "busy", "--address", address);

        Assert.Equal(4, result.ExitCode);
        Assert.StartsWith("error: FailedPrecondition: Retraining job-6 of 'busy' is in flight", result.Error);
    }

    [Fact]
    public async Task UpdatesStatus_Table_ShowsCountersDecisionsAndTheRollout()
    {
        var result = await cli.RunAsync("updates", "status", "linear-regression", "--address", address);

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"rows since training\s+12", result.Out);
        Assert.Matches(@"retraining\s+in flight \(job job-7\)", result.Out);
        Assert.Contains("completed: v1 → v2, challenger 100 %", result.Out);
        Assert.Matches(@"job-7\s+v1\s+v2\s+mse\s+1\.01\s+0\.0102\s+yes\s+challenger better", result.Out);
        Assert.Matches(@"job-5\s+v1\s+v3\s+mse\s+1\.01\s+2\s+no", result.Out);
    }

    [Fact]
    public async Task UpdatesStatus_Json_HasEveryField()
    {
        var result = await cli.RunAsync("updates", "status", "linear-regression", "--output", "json", "--address", address);

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.Equal(2, root.GetProperty("decisions").GetArrayLength());
        Assert.Equal("completed", root.GetProperty("rollout").GetProperty("state").GetString());
        Assert.True(root.GetProperty("retraining").GetBoolean());
    }

    [Fact]
    public async Task UpdatesStatus_UnknownModel_ExitsThree()
    {
        var result = await cli.RunAsync("updates", "status", "nobody", "--address", address);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("error: NotFound: model 'nobody' does not exist", result.Error.TrimEnd());
    }

    [Fact]
    public async Task UpdateCommands_KeyFromEnvironment_SentAsBearer()
    {
        cli.Environment["MAAS_API_KEY"] = "maas_secret";

        var result = await cli.RunAsync("updates", "status", "linear-regression", "--address", address);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Bearer maas_secret", seen.LastAuthorization);
    }

    [Theory]
    [InlineData("data ingest", "maas data ingest")]
    [InlineData("data ingest /no/such/rows.csv --model m", "maas data ingest")]
    [InlineData("data ingest {file}", "maas data ingest")]
    [InlineData("data ingest {file} --model m --format json", "maas data ingest")]
    [InlineData("data rows --model m --columns x,y", "maas data rows")]
    [InlineData("data rows --model m --row 1,2", "maas data rows")]
    [InlineData("data rows --columns x,y --row 1,2", "maas data rows")]
    [InlineData("data rows --model m --columns x,y --row 1,2,3", "maas data rows")]
    [InlineData("data rows --model m --columns x,y --row 1,two", "maas data rows")]
    [InlineData("data rows --model m --columns x,,y --row 1,2,3", "maas data rows")]
    [InlineData("data rows --model m --columns x,x --row 1,2", "maas data rows")]
    [InlineData("retrain", "maas retrain")]
    [InlineData("updates status", "maas updates status")]
    [InlineData("updates", "maas updates")]
    [InlineData("data", "maas data")]
    public async Task Run_MalformedArguments_ExitsTwoWithTheUsageAndCallsNothing(string line, string usage)
    {
        var file = cli.PathOf("exists.csv");
        await File.WriteAllTextAsync(file, "x,y\n1,2\n");

        var result = await cli.RunAsync([.. line.Replace("{file}", file).Split(' '), "--address", address]);

        Assert.Equal(2, result.ExitCode);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("error: usage: ", lines[0]);
        Assert.StartsWith($"usage: {usage}", lines[1]);
        Assert.Equal(0, result.Host.ChannelsOpened);
        Assert.Empty(seen.Calls);
    }

    [Fact]
    public async Task Run_Help_ListsTheUpdateCommands()
    {
        var result = await cli.RunAsync("--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var command in new[] { "data ingest FILE --model MODEL", "data rows --model MODEL --columns A,B", "retrain MODEL", "updates status MODEL" })
        {
            Assert.Contains($"maas {command}", result.Out);
        }
    }

    public async Task InitializeAsync()
    {
        var port = FakeMesh.FreePort();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(seen);
        app = builder.Build();
        app.MapGrpcService<DataUpdater>();
        await app.StartAsync();
        address = $"http://127.0.0.1:{port}";
    }

    public async Task DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        cli.Dispose();
    }
}

/// <summary>What the fake updater received.</summary>
public sealed class UpdaterSeen
{
    /// <summary>Method names, in order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>The first UploadRows message (model, format, feedback).</summary>
    public UploadRowsRequest? Upload { get; set; }

    /// <summary>File bytes UploadRows received.</summary>
    public long UploadedBytes { get; set; }

    /// <summary>The latest IngestRows request.</summary>
    public IngestRowsRequest? Rows { get; set; }

    /// <summary>The latest TriggerRetrain request.</summary>
    public TriggerRetrainRequest? Retrain { get; set; }

    /// <summary>The authorization header of the latest call.</summary>
    public string LastAuthorization { get; set; } = "";
}

/// <summary>
/// Updater fake for the data side: "linear-regression" has production v1 → v2 promoted by job-7; "fresh" has no production
/// version; "busy" is retraining; any other model does not exist.
/// </summary>
internal sealed class DataUpdater(UpdaterSeen seen) : UpdaterService.UpdaterServiceBase
{
    public override async Task<IngestRowsResponse> UploadRows(IAsyncStreamReader<UploadRowsRequest> requestStream, ServerCallContext context)
    {
        Saw(context, "UploadRows");
        long bytes = 0;
        var lines = 0;
        await foreach (var message in requestStream.ReadAllAsync())
        {
            seen.Upload ??= message;
            bytes += message.Chunk.Length;
            lines += message.Chunk.Span.Count((byte)'\n');
        }
        seen.UploadedBytes = bytes;
        Known(seen.Upload!.ModelName);
        var rows = Math.Max(1, lines - 1);
        return new IngestRowsResponse
        {
            Report = new IngestReport
            {
                RowsIn = rows, RowsKept = Math.Max(0, rows - 3), RowsDropped = { ["missing"] = 2, ["duplicate"] = 1 },
                DatasetName = "linear-regression-retrain", DatasetVersion = 3, RowsSinceTraining = 100, RetrainTriggered = true,
                TriggerReason = "100 kept rows since the last training (policy: 100)",
                Issues =
                {
                    new RowIssue { Row = 7, Reason = "missing", Column = "y" },
                    new RowIssue { Row = 9, Reason = "missing", Column = "x" },
                    new RowIssue { Row = 12, Reason = "duplicate" },
                },
            },
        };
    }

    public override Task<IngestRowsResponse> IngestRows(IngestRowsRequest request, ServerCallContext context)
    {
        Saw(context, "IngestRows");
        seen.Rows = request;
        Known(request.ModelName);
        return Task.FromResult(new IngestRowsResponse
        {
            Report = new IngestReport
            {
                RowsIn = request.Rows.Count, RowsKept = 1, RowsDropped = { ["not_finite"] = 1 }, DatasetName = "linear-regression-retrain",
                DatasetVersion = 4, RowsSinceTraining = 1, TriggerReason = "1 of 100 rows since the last training",
                Issues = { new RowIssue { Row = 1, Reason = "not_finite", Column = "y" } },
            },
        });
    }

    public override Task<TriggerRetrainResponse> TriggerRetrain(TriggerRetrainRequest request, ServerCallContext context)
    {
        Saw(context, "TriggerRetrain");
        seen.Retrain = request;
        if (request.ModelName == "busy") throw new RpcException(new Status(StatusCode.FailedPrecondition, "Retraining job-6 of 'busy' is in flight; one retraining per model at a time."));
        Known(request.ModelName);
        return Task.FromResult(new TriggerRetrainResponse { JobId = "job-7" });
    }

    public override Task<GetUpdateStatusResponse> GetUpdateStatus(GetUpdateStatusRequest request, ServerCallContext context)
    {
        Saw(context, "GetUpdateStatus");
        Known(request.ModelName);
        return Task.FromResult(new GetUpdateStatusResponse
        {
            ModelName = request.ModelName, RowsSinceTraining = 12, Retraining = true, LastJobId = "job-7",
            Decisions =
            {
                new Decision
                {
                    JobId = "job-5", ChampionVersion = 1, ChallengerVersion = 3, Metric = "mse", ChampionScore = 1.01, ChallengerScore = 2,
                    Promoted = false, Reason = "challenger worse", DecidedAt = Seen.At(3),
                },
                new Decision
                {
                    JobId = "job-7", ChampionVersion = 1, ChallengerVersion = 2, Metric = "mse", ChampionScore = 1.01, ChallengerScore = 0.0102,
                    Promoted = true, Reason = "challenger better by 0.9998", DecidedAt = Seen.At(4),
                },
            },
            Rollout = new Rollout
            {
                Id = "r-2", ModelName = request.ModelName, ChampionVersion = 1, ChallengerVersion = 2, State = "completed", ChallengerPercent = 100,
                Plan = new RolloutPlan { CanarySteps = { 50, 100 }, BakeSeconds = 1, AutoAdvance = true }, StartedAt = Seen.At(5), EndedAt = Seen.At(6),
            },
        });
    }

    private void Saw(ServerCallContext context, string method)
    {
        seen.LastAuthorization = context.RequestHeaders.GetValue("authorization") ?? "";
        seen.Calls.Enqueue(method);
    }

    private static void Known(string model)
    {
        switch (model)
        {
            case "linear-regression" or "busy":
                return;
            case "fresh":
                throw new RpcException(new Status(StatusCode.FailedPrecondition, "model 'fresh' has no production version"));
            default:
                throw new RpcException(new Status(StatusCode.NotFound, $"model '{model}' does not exist"));
        }
    }
}
