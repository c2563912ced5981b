using System.CommandLine;
using System.Security.Cryptography;
using Google.Protobuf;
using MaaS.Cli.Framework;
using MaaS.Registry.V1;

namespace MaaS.Cli.Commands;

/// <summary>`maas datasets upload|list|get`.</summary>
public static class DatasetCommands
{
    private const int ChunkBytes = 256 * 1024;

    /// <summary>Builds the group.</summary>
    public static Command Build(CommandKit kit) => CommandKit.Group("datasets", "training data in the registry",
        Upload(kit), List(kit), Get(kit));

    private static Command Upload(CommandKit kit)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "CSV (header = column names) or Parquet file" }.AcceptExistingOnly();
        var name = CommandKit.Text("--name", "dataset name (default: the file name without its extension)", "NAME");
        var format = CommandKit.Text("--format", "csv or parquet (default: from the extension)", "csv|parquet");
        format.AcceptOnlyFromAmong("csv", "parquet");
        var description = CommandKit.Text("--description", "what the data is");
        return kit.Leaf("upload", "upload a file as the next version of a dataset", [file, name, format, description], async context =>
        {
            var info = context.Value(file);
            var datasetName = context.Value(name) ?? Path.GetFileNameWithoutExtension(info.Name);
            var datasetFormat = context.Value(format) ?? (info.Extension.Equals(".parquet", StringComparison.OrdinalIgnoreCase) ? "parquet" : "csv");
            string digest;
            await using (var hashed = info.OpenRead())
            {
                digest = Convert.ToHexStringLower(await SHA256.HashDataAsync(hashed, context.Cancellation));
            }
            using var call = context.Registry.UploadDataset(cancellationToken: context.Cancellation);
            await call.RequestStream.WriteAsync(new UploadDatasetRequest
            {
                Manifest = new DatasetManifest { Name = datasetName, Format = datasetFormat, Description = context.Value(description) ?? "", Digest = digest },
            }, context.Cancellation);
            await using (var stream = info.OpenRead())
            {
                var buffer = new byte[ChunkBytes];
                int read;
                while ((read = await stream.ReadAsync(buffer, context.Cancellation)) > 0)
                {
                    await call.RequestStream.WriteAsync(new UploadDatasetRequest { Chunk = ByteString.CopyFrom(buffer, 0, read) }, context.Cancellation);
                }
            }
            await call.RequestStream.CompleteAsync();
            var response = await call;
            var d = response.Dataset;
            context.Emit(response, () => context.Say($"dataset {d.Name} version {d.Version}: {d.RowCount} rows, columns {Output.List(d.Columns)}, sha256 {d.Digest}"));
            return ExitCodes.Ok;
        }, timeoutSeconds: 600);
    }

    private static Command List(CommandKit kit)
    {
        var name = new Argument<string?>("NAME") { Description = "one dataset: list its versions; none: the latest version of every dataset", Arity = ArgumentArity.ZeroOrOne };
        var prefix = CommandKit.Text("--prefix", "only dataset names starting with this", "PREFIX");
        var limit = CommandKit.Limit();
        return kit.Leaf("list", "list datasets (latest version each) or the versions of one", [name, prefix, limit], async context =>
        {
            var registry = context.Registry;
            var (datasets, next) = await Paging.AllAsync(async (token, size) =>
            {
                var page = await registry.ListDatasetsAsync(new ListDatasetsRequest
                {
                    Name = context.Value(name) ?? "", NamePrefix = context.Value(prefix) ?? "", PageSize = size, PageToken = token,
                }, cancellationToken: context.Cancellation);
                return (page.Datasets.AsEnumerable(), page.NextPageToken);
            }, context.Value(limit));
            context.Emit(new ListDatasetsResponse { Datasets = { datasets }, NextPageToken = next }, () =>
            {
                var table = Output.Table("NAME", "VERSION", "FORMAT", "ROWS", "COLUMNS", "SIZE", "CREATED");
                foreach (var d in datasets)
                {
                    table.Row(d.Name, Output.Number(d.Version), d.Format, Output.Number(d.RowCount), Output.List(d.Columns), Output.Number(d.Size), Output.Time(d.CreatedAt));
                }
                context.Console.Write(table);
            });
            return ExitCodes.Ok;
        });
    }

    private static Command Get(CommandKit kit)
    {
        var name = CommandKit.Name("NAME", "dataset name");
        var version = new Option<long>("--version") { Description = "version (default: the latest)", HelpName = "N" };
        version.Validators.Add(result =>
        {
            if (CommandKit.Below(result, 1)) result.AddError("--version must be a whole number >= 1");
        });
        return kit.Leaf("get", "show a dataset version with its schema and column statistics", [name, version], async context =>
        {
            var response = await context.Registry.GetDatasetAsync(new GetDatasetRequest { Name = context.Value(name), Version = context.Value(version) },
                cancellationToken: context.Cancellation);
            var d = response.Dataset;
            context.Emit(response, () =>
            {
                context.Console.Write(Output.Fields(("name", d.Name), ("version", Output.Number(d.Version)), ("format", d.Format),
                    ("rows", Output.Number(d.RowCount)), ("size", $"{Output.Number(d.Size)} bytes"), ("sha256", d.Digest),
                    ("description", Output.OrDash(d.Description)), ("created", Output.Time(d.CreatedAt))));
                var table = Output.Table("COLUMN", "TYPE", "COUNT", "MEAN", "STD", "MIN", "MAX");
                foreach (var column in d.Schema)
                {
                    var s = d.Statistics.FirstOrDefault(x => x.Name == column.Name);
                    table.Row(column.Name, column.Datatype, s is null ? "-" : Output.Number(s.Count), s is null ? "-" : Output.Number(s.Mean),
                        s is null ? "-" : Output.Number(s.Std), s is null ? "-" : Output.Number(s.Min), s is null ? "-" : Output.Number(s.Max));
                }
                context.Console.Write(table);
            });
            return ExitCodes.Ok;
        });
    }
}
