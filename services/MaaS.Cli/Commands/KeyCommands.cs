using System.CommandLine;
using System.Text.RegularExpressions;
using MaaS.Cli.Framework;
using MaaS.Gateway.V1;

namespace MaaS.Cli.Commands;

/// <summary>`maas keys create|list|revoke`: the gateway's API keys (admin scope needed).</summary>
public static partial class KeyCommands
{
    private static readonly string[] Scopes = ["infer", "train", "admin"];

    /// <summary>Builds the group.</summary>
    public static Command Build(CommandKit kit) => CommandKit.Group("keys", "the gateway's API keys",
        Create(kit), List(kit), Revoke(kit));

    private static Command Create(CommandKit kit)
    {
        var name = CommandKit.Name("NAME", "key name (lowercase letters, digits, '.', '_', '-')");
        var scopes = new Option<string[]>("--scope") { Description = "infer, train or admin (repeatable or comma-separated)", HelpName = "SCOPE", Required = true };
        var rps = new Option<double?>("--requests-per-second") { Description = "rate limit (0 = unlimited; default: the gateway's)", HelpName = "X" };
        var burst = new Option<uint?>("--burst") { Description = "requests allowed at once", HelpName = "N" };
        return kit.Leaf("create", "issue a key; its token is shown once", [name, scopes, rps, burst], async context =>
        {
            var chosen = (context.Value(scopes) ?? []).SelectMany(s => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Distinct().ToList();
            if (chosen.FirstOrDefault(s => !Scopes.Contains(s)) is { } unknown) throw new UsageException($"--scope must be infer, train or admin, not '{unknown}'");
            if (context.Value(rps) is < 0) throw new UsageException("--requests-per-second must be >= 0");
            var request = new CreateKeyRequest { Name = context.Value(name), Scopes = { chosen } };
            if (context.Value(rps) is { } rate) request.RequestsPerSecond = rate;
            if (context.Value(burst) is { } b) request.Burst = b;
            var response = await context.Keys.CreateKeyAsync(request, cancellationToken: context.Cancellation);
            context.Emit(response, () =>
            {
                context.Say($"key {response.Key.Name} ({response.Key.Id}) with scopes {Output.List(response.Key.Scopes)}");
                context.Say($"token (shown only now): {response.Token}");
            });
            return ExitCodes.Ok;
        });
    }

    private static Command List(CommandKit kit)
    {
        var all = new Option<bool>("--all") { Description = "also list revoked keys" };
        return kit.Leaf("list", "list keys without their secrets, oldest first", [all], async context =>
        {
            var response = await context.Keys.ListKeysAsync(new ListKeysRequest { IncludeRevoked = context.Value(all) }, cancellationToken: context.Cancellation);
            context.Emit(response, () =>
            {
                var table = Output.Table("ID", "NAME", "SCOPES", "RATE", "BURST", "CREATED", "REVOKED");
                foreach (var k in response.Keys)
                {
                    table.Row(k.Id, k.Name, Output.List(k.Scopes), k.RequestsPerSecond == 0 ? "unlimited" : $"{Output.Number(k.RequestsPerSecond)}/s",
                        Output.Number(k.Burst), Output.Time(k.CreatedAt), k.Revoked ? Output.Time(k.RevokedAt) : "-");
                }
                context.Console.Write(table);
            });
            return ExitCodes.Ok;
        });
    }

    private static Command Revoke(CommandKit kit)
    {
        var id = new Argument<string>("ID") { Description = "the key's id (16 lowercase hex digits)" };
        id.Validators.Add(result =>
        {
            if (!IdPattern().IsMatch(result.GetValueOrDefault<string>() ?? "")) result.AddError("ID must be 16 lowercase hex digits (see maas keys list)");
        });
        return kit.Leaf("revoke", "revoke a key at once", [id], async context =>
        {
            var response = await context.Keys.RevokeKeyAsync(new RevokeKeyRequest { Id = context.Value(id) }, cancellationToken: context.Cancellation);
            context.Emit(response, () => context.Say($"key {response.Key.Name} ({response.Key.Id}) revoked at {Output.Time(response.Key.RevokedAt)}"));
            return ExitCodes.Ok;
        });
    }

    [GeneratedRegex("^[0-9a-f]{16}$")]
    private static partial Regex IdPattern();
}
