namespace MaaS.Registry.Storage;

/// <summary>The one spelling of a content digest: SHA-256 as 64 lower-case hex characters.</summary>
public static class Digests
{
    /// <summary>Whether <paramref name="value"/> is 64 lower-case hex characters.</summary>
    public static bool IsSha256Hex(string value)
    {
        if (value.Length != 64) return false;
        foreach (var c in value)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f'))) return false;
        }
        return true;
    }

    /// <summary>Lower-case hex of a hash.</summary>
    public static string ToHex(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);
}
