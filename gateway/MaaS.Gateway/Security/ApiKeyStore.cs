using System.Collections.Frozen;
using System.Data.Common;
using System.Globalization;
using MaaS.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace MaaS.Gateway.Security;

/// <summary>A key as the gateway records it; the secret itself is never kept.</summary>
public sealed record ApiKeyRecord(
    string Id, string Name, ApiScopes Scopes, double RatePerSecond, int Burst, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>An active key as the request path sees it: hash to compare, scopes, and its own bucket (null = unlimited).</summary>
public sealed class ApiKeyEntry(ApiKeyRecord record, byte[] hash)
{
    public ApiKeyRecord Record { get; } = record;

    public byte[] Hash { get; } = hash;

    public TokenBucket? Bucket { get; } = TokenBucket.For(record.RatePerSecond, record.Burst);
}

/// <summary>
/// The gateway's keys: the rules (unique active names, the last admin key, the bootstrap admin key) over an
/// <see cref="IApiKeyDatabase"/> (Gateway:Auth:Store), and an in-memory snapshot of the active keys that every
/// request reads without a lock or a database read. The snapshot is immutable and swapped whole on a create,
/// a revoke or a reload (an ApiKeysChanged event from another replica, or every Gateway:Auth:RefreshSeconds);
/// an unchanged key keeps its <see cref="ApiKeyEntry"/>, so a reload never refills its token bucket.
/// </summary>
public sealed partial class ApiKeyStore
{
    /// <summary>Name of the key created at first start.</summary>
    public const string BootstrapKeyName = "admin";

    private readonly IApiKeyDatabase database;
    private readonly GatewaySecurityOptions options;
    private readonly ILogger<ApiKeyStore> logger;
    // One swap at a time in this process, so a swap never drops what another just loaded; the rules
    // themselves are kept across processes by the database's write lock (IApiKeyDatabase.Write).
    private readonly Lock writeGate = new();
    private volatile Snapshot active = new([]);

    /// <summary>Migrates the store, loads the active keys and makes (or adopts) the admin key when there is none.</summary>
    public ApiKeyStore(IApiKeyDatabase database, IOptions<GatewaySecurityOptions> options, ILogger<ApiKeyStore> logger)
    {
        this.database = database;
        this.options = options.Value;
        this.logger = logger;
        database.Migrate();
        lock (writeGate)
        {
            EnsureAdminKey();
            active = Load(active.Entries);
        }
    }

    /// <summary>Absolute path of the bootstrap admin key file.</summary>
    public string AdminKeyPath => Path.GetFullPath(options.AdminKeyFile);

    /// <summary>The active key with this id, without allocating.</summary>
    public bool TryFind(ReadOnlySpan<char> id, out ApiKeyEntry entry) => active.Lookup.TryGetValue(id, out entry!);

    /// <summary>Issues a key; returns its record and the token, which exists nowhere else afterwards.</summary>
    public (ApiKeyRecord Key, string Token) Create(string name, ApiScopes scopes, double ratePerSecond, int burst)
    {
        var (id, token) = ApiKeyToken.Generate();
        var record = new ApiKeyRecord(id, name, scopes, ratePerSecond,
            ratePerSecond > 0 ? TokenBucket.EffectiveBurst(ratePerSecond, burst) : 0, Now(), null);
        lock (writeGate)
        {
            database.Write(keys =>
            {
                if (keys.ReadActive().Any(k => k.Record.Name == name))
                {
                    throw MeshErrors.AlreadyExists($"An active key named '{name}' exists; revoke it or choose another name.");
                }
                keys.Insert(record, ApiKeyToken.Hash(token));
                return true;
            });
            TryReloadLocked();
        }
        return (record, token);
    }

    /// <summary>Every key, oldest first; revoked ones only when asked.</summary>
    public IReadOnlyList<ApiKeyRecord> List(bool includeRevoked) => database.List(includeRevoked);

    /// <summary>Revokes a key; from the next request on it is unknown here, and on other replicas after their reload.</summary>
    public ApiKeyRecord Revoke(string id)
    {
        lock (writeGate)
        {
            var revoked = database.Write(keys =>
            {
                var record = keys.Find(id)?.Record ?? throw MeshErrors.NotFound($"No key has id '{id}'.");
                if (record.RevokedAt is { } revokedAt)
                {
                    throw MeshErrors.FailedPrecondition(
                        $"Key '{id}' ({record.Name}) was already revoked at {revokedAt.ToString("O", CultureInfo.InvariantCulture)}.");
                }
                // Counted inside the locked transaction: two replicas revoking the last two admin keys at once
                // run one after the other, and the second sees the first's revoke.
                if (record.Scopes.HasFlag(ApiScopes.Admin)
                    && keys.ReadActive().Count(k => k.Record.Scopes.HasFlag(ApiScopes.Admin)) <= 1)
                {
                    throw MeshErrors.FailedPrecondition(
                        $"Key '{id}' ({record.Name}) is the last active admin key; create another admin key before revoking it.");
                }
                var now = Now();
                keys.MarkRevoked(id, now);
                return record with { RevokedAt = now };
            });
            TryReloadLocked();
            return revoked;
        }
    }

    /// <summary>
    /// Reads the active keys again and swaps the snapshot: unchanged keys keep their entry (and bucket), new
    /// ones appear, revoked ones disappear. On failure (database away) logs a warning, keeps the last snapshot
    /// and returns false.
    /// </summary>
    public bool Reload()
    {
        lock (writeGate)
        {
            return TryReloadLocked();
        }
    }

    private bool TryReloadLocked()
    {
        try
        {
            active = Load(active.Entries);
            return true;
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException or IOException)
        {
            LogReloadFailed(logger, active.Entries.Count, e);
            return false;
        }
    }

    /// <summary>
    /// At start, in one locked write: adopts a well-formed key found in the admin key file whose id the store
    /// has never seen (so a wiped data directory keeps the operator's key, and one Secret mounted on every
    /// replica is the same key everywhere; a key revoked once stays revoked), else, when no admin key is
    /// active, makes one and writes it to the file (mode 600) before the insert commits. A second replica
    /// starting at the same moment waits for the lock and then finds the admin key there.
    /// </summary>
    private void EnsureAdminKey()
    {
        var path = AdminKeyPath;
        var fromFile = TryReadToken(path, out var existing, out var existingId);
        var record = new ApiKeyRecord("", BootstrapKeyName, ApiScopes.Admin, 0, 0, Now(), null);
        var outcome = database.Write(keys =>
        {
            if (fromFile && keys.Find(existingId) is null)
            {
                // The bootstrap name may be taken by another admin key; the adopted one is then named after its id.
                var name = keys.ReadActive().Any(k => k.Record.Name == BootstrapKeyName) ? $"{BootstrapKeyName}-{existingId}" : BootstrapKeyName;
                keys.Insert(record with { Id = existingId, Name = name }, ApiKeyToken.Hash(existing));
                return (Adopted: true, Id: existingId);
            }
            if (keys.ReadActive().Any(k => k.Record.Scopes.HasFlag(ApiScopes.Admin)))
            {
                return (Adopted: false, Id: "");
            }
            var (id, token) = ApiKeyToken.Generate();
            keys.Insert(record with { Id = id }, ApiKeyToken.Hash(token));
            // Written before the commit: if writing fails nothing is committed; if the commit fails, the
            // file holds a key the store has never seen, which the next start adopts.
            WriteKeyFile(path, token);
            return (Adopted: false, Id: id);
        });
        if (outcome.Adopted)
        {
            TryRestrictToOwner(path);
            LogAdminKeyAdopted(logger, outcome.Id, path);
        }
        else if (outcome.Id.Length > 0)
        {
            LogAdminKeyWritten(logger, outcome.Id, path);
        }
        else if (!File.Exists(path))
        {
            LogAdminKeyFileMissing(logger, path);
        }
    }

    private static bool TryReadToken(string path, out string token, out string id)
    {
        token = id = "";
        if (!File.Exists(path) || new FileInfo(path).Length > ApiKeyToken.MaxLength + 2)
        {
            return false;
        }
        token = File.ReadAllText(path).Trim();
        if (!ApiKeyToken.TryGetId(token, out var span))
        {
            return false;
        }
        id = span.ToString();
        return true;
    }

    /// <summary>
    /// Writes a temporary file created with mode 600 and renames it over the target, so the key is never
    /// readable by others, not even for a moment, and a crash leaves either the old file or the new one.
    /// </summary>
    private static void WriteKeyFile(string path, string token)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var writer = new StreamWriter(temporary, System.Text.Encoding.ASCII, fileOptions))
        {
            writer.Write(token);
            writer.Write('\n');
        }
        File.Move(temporary, path, overwrite: true);
        RestrictToOwner(path);
    }

    private static void RestrictToOwner(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    /// <summary>
    /// An adopted file readable by any user is set to mode 600. Group bits are left alone: a Kubernetes Secret
    /// is mounted read-only as root:fsGroup 0440, which only the pod's own group can read and no chmod could change.
    /// When the file system refuses, a warning says so.
    /// </summary>
    private void TryRestrictToOwner(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        const UnixFileMode others = UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        try
        {
            if ((File.GetUnixFileMode(path) & others) != 0)
            {
                RestrictToOwner(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogAdminKeyFileModeKept(logger, path, e.Message);
        }
    }

    /// <summary>Reads the active keys; entries already loaded are kept, so their buckets keep their state.</summary>
    private Snapshot Load(IReadOnlyCollection<ApiKeyEntry> previous)
    {
        var kept = previous.ToDictionary(e => e.Record.Id, StringComparer.Ordinal);
        var entries = new List<ApiKeyEntry>();
        foreach (var key in database.ReadActive())
        {
            entries.Add(kept.TryGetValue(key.Record.Id, out var entry) && entry.Record == key.Record
                && entry.Hash.AsSpan().SequenceEqual(key.Hash)
                ? entry
                : new ApiKeyEntry(key.Record, key.Hash));
        }
        return new Snapshot(entries);
    }

    private static DateTimeOffset Now()
    {
        // Whole microseconds, as the round-trip text keeps them, so a record read back equals the one written.
        var now = DateTimeOffset.UtcNow;
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
    }

    private sealed class Snapshot
    {
        public Snapshot(List<ApiKeyEntry> entries)
        {
            Entries = entries;
            var byId = entries.ToFrozenDictionary(e => e.Record.Id, StringComparer.Ordinal);
            Lookup = byId.GetAlternateLookup<ReadOnlySpan<char>>();
            ByName = entries.ToFrozenDictionary(e => e.Record.Name, StringComparer.Ordinal);
        }

        public IReadOnlyCollection<ApiKeyEntry> Entries { get; }

        public FrozenDictionary<string, ApiKeyEntry>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }

        public FrozenDictionary<string, ApiKeyEntry> ByName { get; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created the bootstrap admin key {KeyId}; admin key written to {Path} (mode 600)")]
    private static partial void LogAdminKeyWritten(ILogger logger, string keyId, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adopted the admin key {KeyId} found in {Path}, new to the key store")]
    private static partial void LogAdminKeyAdopted(ILogger logger, string keyId, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reloading the API keys failed; the last {Count} active keys stay in use until the next reload")]
    private static partial void LogReloadFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The admin key file {Path} can be read by any user and its mode could not be set to 600: {Reason}")]
    private static partial void LogAdminKeyFileModeKept(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The admin key file {Path} is missing; the admin keys in the database stay valid, but only their holders can manage keys")]
    private static partial void LogAdminKeyFileMissing(ILogger logger, string path);
}
