using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Inference;
using MaaS.Cli.Framework;
using MaaS.Cli.Inference;

namespace MaaS.Cli.Commands;

/// <summary>`maas infer MODEL --input …`: one Open Inference Protocol call through the gateway, over gRPC or REST.</summary>
public static class InferCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Builds the command.</summary>
    public static Command Build(CommandKit kit)
    {
        var model = CommandKit.Model();
        var inputs = new Option<string[]>("--input", "-i")
        {
            Description = "a tensor: name=shape:datatype:values (x=4,1:FP32:0,1,2,3) or JSON {\"name\",\"shape\",\"datatype\",\"data\"} (repeatable)",
            HelpName = "TENSOR",
            Required = true,
        };
        var version = CommandKit.Text("--version", "pin a version (default: the deployment's traffic split)", "V");
        // Set by `--rest` (see Normalize): the global `--rest` is an address everywhere else.
        var rest = new Option<bool>("--use-rest") { Description = "call the REST endpoint instead of gRPC", Hidden = true };
        return kit.Leaf("infer", "call a model through the gateway (gRPC by default, --rest for REST)", [model, inputs, version, rest], async context =>
        {
            var tensors = TensorInput.ParseAll(context.Value(inputs) ?? []);
            var pinned = context.Value(version)?.Trim() ?? "";
            if (pinned.Length > 0 && !long.TryParse(pinned, out var number) | number < 1) throw new UsageException("--version must be a whole number >= 1");
            return context.Value(rest)
                ? await InferRestAsync(context, context.Value(model), pinned, tensors)
                : await InferGrpcAsync(context, context.Value(model), pinned, tensors);
        }, usage: "[--rest [URL]]");
    }

    /// <summary>
    /// In `maas infer`, `--rest` means "call REST": bare, at the resolved REST address; followed by a URL, at that address
    /// (the global `--rest URL`). Adds the hidden `--use-rest` switch for it before parsing; other commands are left alone.
    /// </summary>
    public static string[] Normalize(string[] args)
    {
        if (CommandName(args) != "infer" || !args.Contains("--rest")) return args;
        var result = new List<string>(args.Length + 1);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] != "--rest")
            {
                result.Add(args[i]);
                continue;
            }
            result.Add("--use-rest");
            if (i + 1 < args.Length && Uri.TryCreate(args[i + 1], UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
            {
                result.Add("--rest");
                result.Add(args[++i]);
            }
        }
        return result.ToArray();
    }

    /// <summary>The first word that is neither an option nor the value of a global option.</summary>
    private static string? CommandName(string[] args)
    {
        string[] withValue = ["--address", "--rest", "--api-key", "--api-key-file", "--output", "-o", "--timeout-seconds"];
        for (var i = 0; i < args.Length; i++)
        {
            if (withValue.Contains(args[i])) i++;
            else if (!args[i].StartsWith('-')) return args[i];
        }
        return null;
    }

    private static async Task<int> InferGrpcAsync(CliContext context, string model, string version, List<TensorInput> tensors)
    {
        var request = new ModelInferRequest { ModelName = model, ModelVersion = version, Id = "maas-cli" };
        request.Inputs.AddRange(tensors.Select(t => t.ToGrpc()));
        var response = await context.Inference.ModelInferAsync(request, cancellationToken: context.Cancellation);
        context.Emit(response, () =>
        {
            context.Say($"{response.ModelName} version {Output.OrDash(response.ModelVersion)}");
            var table = Output.Table("OUTPUT", "DATATYPE", "SHAPE", "VALUES");
            for (var i = 0; i < response.Outputs.Count; i++)
            {
                var output = response.Outputs[i];
                var raw = i < response.RawOutputContents.Count ? response.RawOutputContents[i] : null;
                table.Row(output.Name, output.Datatype, $"[{string.Join(',', output.Shape)}]", Values(TensorInput.Decode(output.Datatype, output.Contents, raw)));
            }
            context.Console.Write(table);
        });
        return ExitCodes.Ok;
    }

    private static async Task<int> InferRestAsync(CliContext context, string model, string version, List<TensorInput> tensors)
    {
        var path = version.Length == 0
            ? $"v2/models/{Uri.EscapeDataString(model)}/infer"
            : $"v2/models/{Uri.EscapeDataString(model)}/versions/{Uri.EscapeDataString(version)}/infer";
        var body = new JsonObject { ["id"] = "maas-cli", ["inputs"] = new JsonArray(tensors.Select(t => (JsonNode)t.ToJson()).ToArray()) };
        using var content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        using var response = await context.Rest.PostAsync(path, content, context.Cancellation);
        var text = await response.Content.ReadAsStringAsync(context.Cancellation);
        JsonNode? json = null;
        try
        {
            json = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            // A proxy's HTML error page: reported by status below.
        }
        if (!response.IsSuccessStatusCode)
        {
            var status = ExitCodes.StatusOf((int)response.StatusCode);
            var message = json?["error"]?.GetValue<string>() ?? $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
            throw new CliFailure(status.ToString(), message, ExitCodes.For(status));
        }
        if (json is null) throw new CliFailure("Unknown", $"the gateway answered HTTP {(int)response.StatusCode} without JSON", ExitCodes.Failure);
        if (context.Json)
        {
            context.Out.WriteLine(json.ToJsonString(Indented));
            return ExitCodes.Ok;
        }
        context.Say($"{json["model_name"]} version {json["model_version"]}");
        var table = Output.Table("OUTPUT", "DATATYPE", "SHAPE", "VALUES");
        foreach (var output in json["outputs"]?.AsArray() ?? [])
        {
            var data = output?["data"]?.AsArray().Select(v => v?.ToJsonString() ?? "null").ToList() ?? [];
            table.Row(output?["name"]?.ToString() ?? "-", output?["datatype"]?.ToString() ?? "-",
                $"[{string.Join(',', output?["shape"]?.AsArray().Select(d => d?.ToJsonString()) ?? [])}]", Values(data));
        }
        context.Console.Write(table);
        return ExitCodes.Ok;
    }

    private static string Values(IReadOnlyList<string> values) =>
        values.Count <= 64 ? $"[{string.Join(", ", values)}]" : $"[{string.Join(", ", values.Take(64))}, … {values.Count - 64} more]";
}
