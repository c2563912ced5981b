namespace MaaS.Gateway.Security;

/// <summary>What a key may do. Admin implies every other scope.</summary>
[Flags]
public enum ApiScopes
{
    None = 0,
    Infer = 1,
    Train = 2,
    Admin = 4,
}

/// <summary>What a path needs before the gateway forwards it.</summary>
public enum AccessRequirement
{
    /// <summary>Health and metrics: no key.</summary>
    Open,
    /// <summary>Any valid key, whatever its scopes (read-only calls).</summary>
    AnyKey,
    Infer,
    Train,
    Admin,
}

/// <summary>Scope names as they appear in requests, the database and error messages.</summary>
public static class ApiScopeNames
{
    public const string Infer = "infer";
    public const string Train = "train";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Infer, Train, Admin];

    /// <summary>The flag of one name; false for a name that is not a scope.</summary>
    public static bool TryParse(string name, out ApiScopes scope)
    {
        scope = name switch
        {
            Infer => ApiScopes.Infer,
            Train => ApiScopes.Train,
            Admin => ApiScopes.Admin,
            _ => ApiScopes.None,
        };
        return scope != ApiScopes.None;
    }

    /// <summary>Names of the flags set, in the order infer, train, admin.</summary>
    public static List<string> Format(ApiScopes scopes)
    {
        var names = new List<string>(3);
        foreach (var name in All)
        {
            if (TryParse(name, out var flag) && scopes.HasFlag(flag))
            {
                names.Add(name);
            }
        }
        return names;
    }

    /// <summary>True when a key with <paramref name="scopes"/> may make a call that needs <paramref name="requirement"/>.</summary>
    public static bool Grants(ApiScopes scopes, AccessRequirement requirement) => requirement switch
    {
        AccessRequirement.Open or AccessRequirement.AnyKey => true,
        _ when scopes.HasFlag(ApiScopes.Admin) => true,
        AccessRequirement.Infer => scopes.HasFlag(ApiScopes.Infer),
        AccessRequirement.Train => scopes.HasFlag(ApiScopes.Train),
        _ => false,
    };

    /// <summary>The scope name a requirement asks for (for error messages).</summary>
    public static string Needed(AccessRequirement requirement) => requirement switch
    {
        AccessRequirement.Infer => Infer,
        AccessRequirement.Train => Train,
        AccessRequirement.Admin => Admin,
        _ => "any",
    };
}
