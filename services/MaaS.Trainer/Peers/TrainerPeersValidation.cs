using Microsoft.Extensions.Options;

namespace MaaS.Trainer.Peers;

/// <summary>Refuses a Trainer:Peers entry that is not a peer address, naming it, at start rather than at the first lookup.</summary>
public sealed class TrainerPeersValidation : IValidateOptions<TrainerOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TrainerOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.Peers.Count; i++)
        {
            if (PeerAddress.TryParse(options.Peers[i], options.PeersResolveDns) is null)
            {
                failures.Add($"Trainer:Peers:{i} must be the absolute http(s) address of another trainer replica's gRPC port "
                    + $"(http://10.0.0.5:7002) or dns:///host:port; '{options.Peers[i]}' is not.");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
