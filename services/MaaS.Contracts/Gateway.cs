namespace MaaS.Contracts;

/// <summary>
/// Event: a gateway created or revoked an API key. Every gateway replica reloads its in-memory keys from
/// the shared key database on it; the id and the change are for logs, the database stays the record.
/// </summary>
public sealed record ApiKeysChanged : MeshMessage
{
    /// <summary><see cref="Change"/> of a new key.</summary>
    public const string Created = "created";

    /// <summary><see cref="Change"/> of a revoked key.</summary>
    public const string Revoked = "revoked";

    /// <summary>Id of the key (the public part of its token, 16 hex digits).</summary>
    public string KeyId { get; init; } = "";

    /// <summary>What happened to it: "created" or "revoked".</summary>
    public string Change { get; init; } = "";
}
