using System.CommandLine;
using System.Globalization;
using Google.Protobuf;
using MaaS.Cli.Framework;
using MaaS.Updater.V1;

namespace MaaS.Cli.Commands;

/// <summary>
/// The updater's data side: `maas data ingest|rows` (new labelled rows for a model), `maas retrain MODEL` (the manual trigger)
/// and `maas updates status MODEL` (rows since training, the retraining in flight, gate decisions, the rollout).
/// </summary>
public static class UpdateCommands
{
    private const int ChunkBytes = 256 * 1024;

    /// <summary>How many row issues the table shows; --output json has every one the updater returned.</summary>
    private const int IssuesShown = 10;

    /// <summary>Every command of this file, for the root of the tree.</summary>
    public static IEnumerable<Command> Build(CommandKit kit) =>
    [
        CommandKit.Group("data", "new labelled rows for a model: cleaned, stored, and counted towards retraining", Ingest(kit), Rows(kit)),
        Retrain(kit),
        CommandKit.Group("updates", "what the updater knows and decided about a model", Status(kit)),
    ];

    private static Option<string> ModelOption() => new("--model")
    {
        Description = "model the rows are for (it needs a production version)", HelpName = "MODEL", Required = true,
    };

    private static Option<bool> Feedback() => new("--feedback") { Description = "the rows are labelled feedback on live traffic (scored by the feedback rule too)" };

    private static Command Ingest(CommandKit kit)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "CSV (header = column names) or Parquet file of rows" }.AcceptExistingOnly();
        var model = ModelOption();
        var format = CommandKit.Text("--format", "csv or parquet (default: from the extension)", "csv|parquet");
        format.AcceptOnlyFromAmong("csv", "parquet");
        var feedback = Feedback();
        return kit.Leaf("ingest", "send a file of labelled rows to the updater; prints what cleaning kept and whether retraining started",
            [file, model, format, feedback], async context =>
            {
                var info = context.Value(file);
                var name = RequireName(context.Value(model), "--model");
                var rowFormat = context.Value(format) ?? (info.Extension.Equals(".parquet", StringComparison.OrdinalIgnoreCase) ? "parquet" : "csv");
                using var call = context.Updater.UploadRows(cancellationToken: context.Cancellation);
                // The first message names the model and the format; the file follows in chunks.
                await call.RequestStream.WriteAsync(new UploadRowsRequest { ModelName = name, Format = rowFormat, Feedback = context.Value(feedback) },
                    context.Cancellation);
                await using (var stream = info.OpenRead())
                {
                    var buffer = new byte[ChunkBytes];
                    int read;
                    while ((read = await stream.ReadAsync(buffer, context.Cancellation)) > 0)
                    {
                        await call.RequestStream.WriteAsync(new UploadRowsRequest { Chunk = ByteString.CopyFrom(buffer, 0, read) }, context.Cancellation);
                    }
                }
                await call.RequestStream.CompleteAsync();
                var response = await call;
                context.Emit(response, () => ShowReport(context, response.Report));
                return ExitCodes.Ok;
            }, timeoutSeconds: 600);
    }

    private static Command Rows(CommandKit kit)
    {
        var model = ModelOption();
        var columns = new Option<string>("--columns")
        {
            Description = "column names, comma-separated: the model's features, with or without its label", HelpName = "A,B", Required = true,
        };
        var rows = new Option<string[]>("--row")
        {
            Description = "one row's values, comma-separated, in the order of --columns (repeatable)", HelpName = "V,V", Required = true,
        };
        var feedback = Feedback();
        return kit.Leaf("rows", "send a few labelled rows typed on the command line; prints the same report as `data ingest`",
            [model, columns, rows, feedback], async context =>
            {
                // Every value is checked before anything is called.
                var request = new IngestRowsRequest { ModelName = RequireName(context.Value(model), "--model"), Feedback = context.Value(feedback) };
                request.Columns.AddRange(ParseColumns(context.Value(columns)));
                foreach (var (text, index) in (context.Value(rows) ?? []).Select((r, i) => (r, i + 1)))
                {
                    request.Rows.Add(new Row { Values = { ParseRow(text, index, request.Columns.Count) } });
                }
                if (request.Rows.Count == 0) throw new UsageException("give at least one --row");
                var response = await context.Updater.IngestRowsAsync(request, cancellationToken: context.Cancellation);
                context.Emit(response, () => ShowReport(context, response.Report));
                return ExitCodes.Ok;
            }, usageLine: "--model MODEL --columns A,B --row V,V [--row V,V …] [--feedback]");
    }

    private static Command Retrain(CommandKit kit)
    {
        var model = CommandKit.Model();
        var reason = CommandKit.Reason();
        return kit.Leaf("retrain", "retrain a model now (the manual trigger): gated and rolled out like any retraining", [model, reason], async context =>
        {
            var name = context.Value(model);
            var response = await context.Updater.TriggerRetrainAsync(new TriggerRetrainRequest { ModelName = name, Reason = context.Value(reason) ?? "" },
                cancellationToken: context.Cancellation);
            context.Emit(response, () => context.Say($"retraining {name}: job {response.JobId} submitted (maas jobs watch {response.JobId}, maas updates status {name})"));
            return ExitCodes.Ok;
        });
    }

    private static Command Status(CommandKit kit)
    {
        var model = CommandKit.Model();
        return kit.Leaf("status", "rows since the last training, the retraining in flight, gate decisions and the rollout", [model], async context =>
        {
            var response = await context.Updater.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = context.Value(model) },
                cancellationToken: context.Cancellation);
            context.Emit(response, () => ShowStatus(context, response));
            return ExitCodes.Ok;
        });
    }

    /// <summary>"x, y" → ["x", "y"]; names must be non-empty and distinct.</summary>
    internal static List<string> ParseColumns(string? text)
    {
        var names = (text ?? "").Split(',', StringSplitOptions.TrimEntries).ToList();
        if (names.Count == 0 || names.Any(n => n.Length == 0)) throw new UsageException("--columns must be non-empty names separated by commas, e.g. x,y");
        var repeated = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new UsageException($"--columns names '{repeated.Key}' twice; each column once");
        return names;
    }

    /// <summary>"1.5,3" → [1.5, 3]: as many numbers as columns (invariant culture; nan and inf pass, the updater's cleaning drops them).</summary>
    internal static double[] ParseRow(string text, int index, int columns)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != columns)
        {
            throw new UsageException($"--row {index} ('{text}') has {parts.Length} value(s); --columns names {columns}");
        }
        var values = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
            {
                throw new UsageException($"--row {index}: '{parts[i]}' is not a number");
            }
        }
        return values;
    }

    private static string RequireName(string? name, string flag) =>
        string.IsNullOrWhiteSpace(name) ? throw new UsageException($"{flag} must not be empty") : name.Trim();

    private static void ShowReport(CliContext context, IngestReport r)
    {
        var dropped = r.RowsDropped.Count == 0 ? "none" : Output.Map(r.RowsDropped, Output.Number);
        context.Console.Write(Output.Fields(
            ("rows", $"{Output.Number(r.RowsIn)} in, {Output.Number(r.RowsKept)} kept"),
            ("dropped", dropped),
            ("dataset", r.DatasetName.Length == 0 ? "-" : $"{r.DatasetName} v{r.DatasetVersion}"),
            ("rows since training", Output.Number(r.RowsSinceTraining)),
            ("retraining", $"{(r.RetrainTriggered ? "triggered" : "not triggered")}{(r.TriggerReason.Length > 0 ? $": {r.TriggerReason}" : "")}")));
        if (r.Issues.Count == 0) return;
        var table = Output.Table("ROW", "REASON", "COLUMN");
        foreach (var issue in r.Issues.Take(IssuesShown)) table.Row(Output.Number(issue.Row), issue.Reason, Output.OrDash(issue.Column));
        context.Console.Write(table);
        if (r.Issues.Count > IssuesShown) context.Say($"… {r.Issues.Count - IssuesShown} more issue(s) (--output json lists them)");
    }

    private static void ShowStatus(CliContext context, GetUpdateStatusResponse s)
    {
        context.Console.Write(Output.Fields(
            ("model", s.ModelName),
            ("rows since training", Output.Number(s.RowsSinceTraining)),
            ("retraining", s.Retraining ? $"in flight (job {Output.OrDash(s.LastJobId)})" : "no"),
            ("last job", Output.OrDash(s.LastJobId)),
            ("rollout", s.Rollout is { } r ? DescribeRollout(r) : "none yet")));
        if (s.Decisions.Count == 0)
        {
            context.Say("no gate decisions yet");
            return;
        }
        var table = Output.Table("DECIDED", "JOB", "CHAMPION", "CHALLENGER", "METRIC", "CHAMPION SCORE", "CHALLENGER SCORE", "PROMOTED", "REASON");
        foreach (var d in s.Decisions)
        {
            table.Row(Output.Time(d.DecidedAt), Output.OrDash(d.JobId), $"v{d.ChampionVersion}", $"v{d.ChallengerVersion}", Output.OrDash(d.Metric),
                Output.Number(d.ChampionScore), Output.Number(d.ChallengerScore), d.Promoted ? "yes" : "no", Output.OrDash(d.Reason));
        }
        context.Console.Write(table);
    }

    /// <summary>A rollout in one line: "completed: v1 → v2, challenger 100 % (canary 50→100% …)".</summary>
    private static string DescribeRollout(Rollout r) =>
        $"{r.State}: v{r.ChampionVersion} → v{r.ChallengerVersion}, challenger {r.ChallengerPercent} % ({PlanFlags.Describe(r.Plan)})" +
        (r.Reason.Length > 0 ? $" — {r.Reason}" : "");
}
