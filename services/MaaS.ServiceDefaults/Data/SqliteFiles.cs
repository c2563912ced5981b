using Microsoft.Data.Sqlite;

namespace MaaS.ServiceDefaults.Data;

/// <summary>
/// How a service keeps its state in one SQLite file: WAL (readers never wait for the writer), a busy
/// timeout instead of SQLITE_BUSY errors, foreign keys on, and ordered migrations recorded in
/// <c>schema_version</c> so each runs exactly once.
/// </summary>
public static class SqliteFiles
{
    /// <summary>The connection string of <paramref name="fileName"/> in <paramref name="directory"/> (created when missing).</summary>
    public static string ConnectionString(string directory, string fileName)
    {
        Directory.CreateDirectory(directory);
        var path = Path.GetFullPath(Path.Combine(directory, fileName));
        return new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    /// <summary>An open connection with the pragmas every service relies on.</summary>
    public static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        // synchronous=NORMAL is the WAL pairing: commits stay atomic and the file consistent; a power cut may
        // lose the last few commits, never corrupt. FULL would fsync every progress row a trainer writes.
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    /// <summary>Applies the migrations not yet applied, each in its own transaction with its schema_version row.</summary>
    public static void Migrate(string connectionString, IReadOnlyList<string> migrations)
    {
        using var connection = Open(connectionString);
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";
            create.ExecuteNonQuery();
        }
        long applied;
        using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
            applied = (long)read.ExecuteScalar()!;
        }
        for (var i = (int)applied; i < migrations.Count; i++)
        {
            using var tx = connection.BeginTransaction();
            using var migrate = connection.CreateCommand();
            migrate.Transaction = tx;
            migrate.CommandText = migrations[i] + $"; INSERT INTO schema_version (version) VALUES ({i + 1});";
            migrate.ExecuteNonQuery();
            tx.Commit();
        }
    }
}
