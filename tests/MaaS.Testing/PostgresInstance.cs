using Npgsql;

namespace MaaS.Testing;

/// <summary>
/// A real PostgreSQL 15 server for tests: started with infra/postgres.sh (which installs Debian's postgresql when it
/// is missing) on a free loopback port with its data in a temporary folder, stopped by the script on dispose. Tests
/// give each host an empty schema of its own (through <c>Search Path</c>) as its database.
/// </summary>
public sealed class PostgresInstance : IDisposable
{
    private readonly InfraScript _script;
    private readonly string _folder;

    /// <summary>Starts the server; <paramref name="folderPrefix"/> names its temporary data folder.</summary>
    public PostgresInstance(string folderPrefix)
    {
        Port = FreePorts.One();
        _folder = InfraScript.OpenTempFolder(folderPrefix);
        _script = InfraScript.Postgres(RepoPaths.AboveBinaries(), Port, _folder);
        _script.Run("start", TimeSpan.FromMinutes(10));
    }

    /// <summary>The server's port.</summary>
    public int Port { get; }

    /// <summary>A connection string to the server's <c>maas</c> database: its default schema, or <paramref name="schema"/>.</summary>
    public string ConnectionString(string? schema = null) =>
        $"Host=127.0.0.1;Port={Port};Username=maas;Database=maas" + (schema is null ? "" : $";Search Path={schema}");

    /// <summary>An open connection without pooling (a test's reads leave nothing behind).</summary>
    public NpgsqlConnection Open(string? schema = null)
    {
        var connection = new NpgsqlConnection(ConnectionString(schema) + ";Pooling=false");
        connection.Open();
        return connection;
    }

    /// <summary>Runs a statement on the <c>maas</c> database.</summary>
    public void Execute(string sql)
    {
        using var connection = Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    /// <summary>The first column of the first row of <paramref name="sql"/> in <paramref name="schema"/>.</summary>
    public long Scalar(string schema, string sql)
    {
        using var connection = Open(schema);
        using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _script.Run("stop", TimeSpan.FromMinutes(2));
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
        catch (UnauthorizedAccessException) { /* the server's files may belong to the postgres user */ }
    }
}
