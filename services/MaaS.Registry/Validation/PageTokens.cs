using System.Buffers.Text;
using System.Globalization;
using System.Text;
using MaaS.ServiceDefaults;

namespace MaaS.Registry.Validation;

/// <summary>
/// Opaque page tokens for keyset paging: the key of the last row of a page (a name or a number) tagged
/// with the listing it belongs to, base64url-encoded. Keyset paging is what keeps pages stable while
/// rows are added: the next page starts after the last key seen, not at an offset that shifts.
/// </summary>
public static class PageTokens
{
    /// <summary>Token after <paramref name="key"/> of the listing <paramref name="kind"/>.</summary>
    public static string Encode(string kind, string key) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{kind}:{key}"));

    /// <summary>Token after a numeric key.</summary>
    public static string Encode(string kind, long key) => Encode(kind, key.ToString(CultureInfo.InvariantCulture));

    /// <summary>The name a token continues after; empty for an empty token (first page).</summary>
    public static string DecodeName(string field, string token, string kind)
    {
        var key = Decode(field, token, kind);
        if (key is null) return "";
        if (!RequestRules.IsName(key)) throw Invalid(field, kind);
        return key;
    }

    /// <summary>The number a token continues after; <paramref name="first"/> for an empty token.</summary>
    public static long DecodeNumber(string field, string token, string kind, long first)
    {
        var key = Decode(field, token, kind);
        if (key is null) return first;
        if (!long.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var number)) throw Invalid(field, kind);
        return number;
    }

    private static string? Decode(string field, string token, string kind)
    {
        if (token.Length == 0) return null;
        if (token.Length > 256) throw Invalid(field, kind);
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(token);
        }
        catch (FormatException)
        {
            throw Invalid(field, kind);
        }
        var text = Encoding.UTF8.GetString(bytes);
        var prefix = kind + ":";
        return text.StartsWith(prefix, StringComparison.Ordinal) ? text[prefix.Length..] : throw Invalid(field, kind);
    }

    private static Grpc.Core.RpcException Invalid(string field, string kind) =>
        MeshErrors.InvalidArgument($"{field} must be empty or the next_page_token of a previous {kind} page; it is not.");
}
