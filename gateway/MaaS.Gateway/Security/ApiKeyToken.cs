using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace MaaS.Gateway.Security;

/// <summary>
/// The bearer token <c>maas_&lt;id&gt;_&lt;secret&gt;</c>: a public id (8 random bytes, hex) to find the key
/// without a scan, and a secret of 32 random bytes (base64url) that only its SHA-256 is kept of.
/// </summary>
/// <remarks>
/// A plain SHA-256 is enough here, where passwords would need a slow KDF (bcrypt, Argon2): those slow down
/// guessing low-entropy secrets from a stolen hash, but a 256-bit random secret cannot be guessed at any
/// speed (2^256 tries), so stretching would add only per-request CPU and protect nothing.
/// </remarks>
public static class ApiKeyToken
{
    public const string Prefix = "maas_";
    public const int IdLength = 16;
    public const int SecretBytes = 32;
    /// <summary>Longest token accepted; real ones are 5 + 16 + 1 + 43 = 65 characters.</summary>
    public const int MaxLength = 128;

    /// <summary>A fresh id and token from the OS's cryptographic generator.</summary>
    public static (string Id, string Token) Generate()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdLength / 2));
        var secret = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SecretBytes));
        return (id, $"{Prefix}{id}_{secret}");
    }

    /// <summary>True for a well-formed id (16 lowercase hex digits).</summary>
    public static bool IsId(ReadOnlySpan<char> id)
    {
        if (id.Length != IdLength)
        {
            return false;
        }
        foreach (var c in id)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Splits a token into its id without allocating; false when it is not shaped as a token.</summary>
    public static bool TryGetId(ReadOnlySpan<char> token, out ReadOnlySpan<char> id)
    {
        id = default;
        if (token.Length > MaxLength || !token.StartsWith(Prefix, StringComparison.Ordinal)
            || token.Length < Prefix.Length + IdLength + 2 || token[Prefix.Length + IdLength] != '_')
        {
            return false;
        }
        id = token.Slice(Prefix.Length, IdLength);
        return IsId(id);
    }

    /// <summary>SHA-256 of the whole token's UTF-8 bytes.</summary>
    public static byte[] Hash(string token)
    {
        var hash = new byte[SHA256.HashSizeInBytes];
        Hash(token, hash);
        return hash;
    }

    /// <summary>SHA-256 of the whole token into <paramref name="destination"/>, with no heap allocation.</summary>
    public static void Hash(ReadOnlySpan<char> token, Span<byte> destination)
    {
        Span<byte> utf8 = stackalloc byte[MaxLength * 3];
        var count = Encoding.UTF8.GetBytes(token, utf8);
        SHA256.HashData(utf8[..count], destination);
    }

    /// <summary>True when <paramref name="token"/> hashes to <paramref name="expected"/>, compared in constant time.</summary>
    public static bool Matches(ReadOnlySpan<char> token, ReadOnlySpan<byte> expected)
    {
        Span<byte> actual = stackalloc byte[SHA256.HashSizeInBytes];
        Hash(token, actual);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
