using System.Collections.Frozen;
using System.Globalization;
using MaaS.ServiceDefaults;
using MaaS.ServiceDefaults.Data;
using Microsoft.Data.Sqlite;
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
/// The gateway's keys in {Mesh:DataDirectory}/gateway.db, and an in-memory copy of the active ones that
/// every request reads without a lock or a database read. The copy is an immutable dictionary swapped
/// whole on each (rare) create or revoke; the file stays the record across restarts.
/// </summary>
public sealed partial class ApiKeyStore
{
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            hash BLOB NOT NULL,
            scopes TEXT NOT NULL,
            requests_per_second REAL NOT NULL,
            burst INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT NULL);
        CREATE UNIQUE INDEX ux_api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
        """,
    ];

    /// <summary>Name of the key created at first start.</summary>
    public const string BootstrapKeyName = "admin";

    private readonly string connectionString;
    private readonly GatewaySecurityOptions options;
    private readonly ILogger<ApiKeyStore> logger;
    // Create and revoke run one at a time, so "is this the last admin key" and the cache swap stay consistent.
    private readonly Lock writeGate = new();
    private volatile Snapshot active;

    /// <summary>Opens (creating when missing) the key file, loads the active keys and makes the admin key when there is none.</summary>
    public ApiKeyStore(IOptions<MeshHostOptions> host, IOptions<GatewaySecurityOptions> options, ILogger<ApiKeyStore> logger)
    {
        this.options = options.Value;
        this.logger = logger;
        connectionString = SqliteFiles.ConnectionString(host.Value.DataDirectory, "gateway.db");
        SqliteFiles.Migrate(connectionString, Migrations);
        active = Load([]);
        lock (writeGate)
        {
            EnsureAdminKey();
        }
    }

    /// <summary>Absolute path of the bootstrap admin key file.</summary>
    public string AdminKeyPath => Path.GetFullPath(options.AdminKeyFile);

    /// <summary>The active key with this id, without allocating.</summary>
    public bool TryFind(ReadOnlySpan<char> id, out ApiKeyEntry entry) => active.Lookup.TryGetValue(id, out entry!);

    /// <summary>Issues a key; returns its record and the token, which exists nowhere else afterwards.</summary>
    public (ApiKeyRecord Key, string Token) Create(string name, ApiScopes scopes, double ratePerSecond, int burst)
    {
        lock (writeGate)
        {
            if (active.ByName.ContainsKey(name))
            {
                throw MeshErrors.AlreadyExists($"An active key named '{name}' exists; revoke it or choose another name.");
            }
            var (id, token) = ApiKeyToken.Generate();
            var record = new ApiKeyRecord(id, name, scopes, ratePerSecond,
                ratePerSecond > 0 ? TokenBucket.EffectiveBurst(ratePerSecond, burst) : 0, Now(), null);
            Insert(record, ApiKeyToken.Hash(token));
            active = Load(active.Entries);
            return (record, token);
        }
    }

    /// <summary>Every key, oldest first; revoked ones only when asked.</summary>
    public IReadOnlyList<ApiKeyRecord> List(bool includeRevoked)
    {
        using var connection = SqliteFiles.Open(connectionString);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, name, scopes, requests_per_second, burst, created_at, revoked_at FROM api_keys"
            + (includeRevoked ? "" : " WHERE revoked_at IS NULL") + " ORDER BY created_at, id";
        using var reader = command.ExecuteReader();
        var keys = new List<ApiKeyRecord>();
        while (reader.Read())
        {
            keys.Add(ReadRecord(reader));
        }
        return keys;
    }

    /// <summary>Revokes a key; from the next request on it is unknown.</summary>
    public ApiKeyRecord Revoke(string id)
    {
        lock (writeGate)
        {
            var record = List(includeRevoked: true).FirstOrDefault(k => k.Id == id)
                ?? throw MeshErrors.NotFound($"No key has id '{id}'.");
            if (record.RevokedAt is { } revokedAt)
            {
                throw MeshErrors.FailedPrecondition(
                    $"Key '{id}' ({record.Name}) was already revoked at {revokedAt.ToString("O", CultureInfo.InvariantCulture)}.");
            }
            if (record.Scopes.HasFlag(ApiScopes.Admin)
                && active.Entries.Count(e => e.Record.Scopes.HasFlag(ApiScopes.Admin)) <= 1)
            {
                throw MeshErrors.FailedPrecondition(
                    $"Key '{id}' ({record.Name}) is the last active admin key; create another admin key before revoking it.");
            }
            var now = Now();
            using (var connection = SqliteFiles.Open(connectionString))
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "UPDATE api_keys SET revoked_at = $at WHERE id = $id AND revoked_at IS NULL";
                command.Parameters.AddWithValue("$at", now.ToString("O", CultureInfo.InvariantCulture));
                command.Parameters.AddWithValue("$id", id);
                command.ExecuteNonQuery();
            }
            active = Load(active.Entries);
            return record with { RevokedAt = now };
        }
    }

    /// <summary>
    /// First start (no active admin key): adopts a well-formed key already in the admin key file (so a wiped
    /// data directory does not change the operator's key), else makes one and writes it there, mode 600.
    /// </summary>
    private void EnsureAdminKey()
    {
        var path = AdminKeyPath;
        if (active.Entries.Any(e => e.Record.Scopes.HasFlag(ApiScopes.Admin)))
        {
            if (!File.Exists(path))
            {
                LogAdminKeyFileMissing(logger, path);
            }
            return;
        }
        var record = new ApiKeyRecord("", BootstrapKeyName, ApiScopes.Admin, 0, 0, Now(), null);
        if (TryReadToken(path, out var existing, out var existingId) && !Exists(existingId))
        {
            Insert(record with { Id = existingId }, ApiKeyToken.Hash(existing));
            RestrictToOwner(path);
            LogAdminKeyAdopted(logger, existingId, path);
        }
        else
        {
            var (id, token) = ApiKeyToken.Generate();
            Insert(record with { Id = id }, ApiKeyToken.Hash(token));
            WriteKeyFile(path, token);
            LogAdminKeyWritten(logger, id, path);
        }
        active = Load(active.Entries);
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

    private bool Exists(string id)
    {
        using var connection = SqliteFiles.Open(connectionString);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM api_keys WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return (long)command.ExecuteScalar()! > 0;
    }

    private void Insert(ApiKeyRecord record, byte[] hash)
    {
        using var connection = SqliteFiles.Open(connectionString);
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO api_keys (id, name, hash, scopes, requests_per_second, burst, created_at)
            VALUES ($id, $name, $hash, $scopes, $rate, $burst, $created)
            """;
        command.Parameters.AddWithValue("$id", record.Id);
        command.Parameters.AddWithValue("$name", record.Name);
        command.Parameters.AddWithValue("$hash", hash);
        command.Parameters.AddWithValue("$scopes", string.Join(',', ApiScopeNames.Format(record.Scopes)));
        command.Parameters.AddWithValue("$rate", record.RatePerSecond);
        command.Parameters.AddWithValue("$burst", record.Burst);
        command.Parameters.AddWithValue("$created", record.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
        try
        {
            command.ExecuteNonQuery();
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            // SQLITE_CONSTRAINT: another gateway process sharing the file took the name first.
            throw MeshErrors.AlreadyExists($"An active key named '{record.Name}' exists; revoke it or choose another name.");
        }
    }

    /// <summary>Reads the active keys; entries already loaded are kept, so their buckets keep their state.</summary>
    private Snapshot Load(IReadOnlyCollection<ApiKeyEntry> previous)
    {
        var kept = previous.ToDictionary(e => e.Record.Id, StringComparer.Ordinal);
        var entries = new List<ApiKeyEntry>();
        using var connection = SqliteFiles.Open(connectionString);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, name, scopes, requests_per_second, burst, created_at, revoked_at, hash FROM api_keys WHERE revoked_at IS NULL";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var record = ReadRecord(reader);
            entries.Add(kept.TryGetValue(record.Id, out var entry) && entry.Record == record
                ? entry
                : new ApiKeyEntry(record, (byte[])reader.GetValue(7)));
        }
        return new Snapshot(entries);
    }

    private static ApiKeyRecord ReadRecord(SqliteDataReader reader)
    {
        var scopes = ApiScopes.None;
        foreach (var name in reader.GetString(2).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (ApiScopeNames.TryParse(name, out var scope))
            {
                scopes |= scope;
            }
        }
        return new ApiKeyRecord(
            reader.GetString(0), reader.GetString(1), scopes, reader.GetDouble(3), reader.GetInt32(4),
            DateTimeOffset.Parse(reader.GetString(5), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            reader.IsDBNull(6) ? null : DateTimeOffset.Parse(reader.GetString(6), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind));
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

    [LoggerMessage(Level = LogLevel.Information, Message = "No admin key in the database; adopted the admin key {KeyId} found in {Path}")]
    private static partial void LogAdminKeyAdopted(ILogger logger, string keyId, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The admin key file {Path} is missing; the admin keys in the database stay valid, but only their holders can manage keys")]
    private static partial void LogAdminKeyFileMissing(ILogger logger, string path);
}
