using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace MaaS.Registry.Tests.Stores;

/// <summary>
/// A metadata store the registry's store tests run on: SQLite (a file in the host's data folder) or
/// PostgreSQL (<see cref="PostgresServer"/>). Each host gets an empty database of its own, tied to its
/// data folder, so a second host on the same folder sees the first one's state.
/// </summary>
public abstract class RegistryStore
{
    /// <summary>The default store: a SQLite file in the data folder.</summary>
    public static RegistryStore Sqlite { get; } = new SqliteStore();

    /// <summary>The registry settings that put a host on this store's database for <paramref name="dataDirectory"/> (creating it if new).</summary>
    public abstract IReadOnlyDictionary<string, string> Settings(string dataDirectory);

    /// <summary>An open connection to the database of <paramref name="dataDirectory"/>, to check what the registry wrote.</summary>
    public abstract DbConnection Open(string dataDirectory);

    /// <summary>Removes the database of <paramref name="dataDirectory"/> once its host is gone.</summary>
    public abstract void Release(string dataDirectory);

    private sealed class SqliteStore : RegistryStore
    {
        public override IReadOnlyDictionary<string, string> Settings(string dataDirectory) => new Dictionary<string, string>();

        public override DbConnection Open(string dataDirectory)
        {
            var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "registry.db")};Mode=ReadOnly;Pooling=False");
            connection.Open();
            return connection;
        }

        // The file goes with the data folder.
        public override void Release(string dataDirectory) => SqliteConnection.ClearAllPools();

        public override string ToString() => "SQLite";
    }
}
