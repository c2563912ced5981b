using System.Data.Common;
using MaaS.Contracts;

namespace MaaS.Registry.Storage.Data;

/// <summary>
/// What differs between metadata databases, and nothing else: the stores (<see cref="ModelStore"/>,
/// <see cref="DeploymentStore"/>, <see cref="DatasetStore"/>) are written once against ADO.NET's
/// <see cref="DbConnection"/> and take every statement from <see cref="Sql"/>. A PostgreSQL store is one
/// more implementation of this interface plus its own <see cref="RegistryStatements"/> and migrations.
/// </summary>
public interface IRegistryDialect
{
    /// <summary>Name for logs and configuration (<c>sqlite</c>, <c>postgres</c>).</summary>
    string Name { get; }

    /// <summary>Every statement the stores run, in this database's SQL.</summary>
    RegistryStatements Sql { get; }

    /// <summary>
    /// The parameter as the statements spell it, from the bare name the stores pass (<c>model</c>):
    /// <c>@model</c> for both SQLite and Npgsql.
    /// </summary>
    string ParameterName(string name);

    /// <summary>
    /// Held around a blob commit or a blob removal (<see cref="BlobCommitter"/>), so that across every registry process
    /// on this database an upload of some bytes never points at a blob another one is removing. SQLite: no lock (one
    /// process owns the file; the committer's own gate covers it); PostgreSQL: a session advisory lock.
    /// </summary>
    Task<IAsyncDisposable> LockBlobsAsync() => Task.FromResult<IAsyncDisposable>(MaaS.ServiceDefaults.Outbox.NoLease.Instance);

    /// <summary>Applies pending schema migrations once per process; later calls return at once.</summary>
    void EnsureMigrated();

    /// <summary>An open, configured connection to an up-to-date schema.</summary>
    Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Starts a write transaction. SQLite: <c>BEGIN IMMEDIATE</c>, so writers queue at the start and a
    /// read-then-write inside the transaction cannot be overtaken. A server database starts a normal
    /// transaction; the stores then run <see cref="RegistryStatements.LockModel"/> /
    /// <see cref="RegistryStatements.LockDatasetName"/>, which take the row locks there.
    /// </summary>
    Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>A time as a parameter value (SQLite: ISO-8601 UTC text, which sorts like the times).</summary>
    object ToDbTime(DateTimeOffset time);

    /// <summary>A time column as written by <see cref="ToDbTime"/>.</summary>
    DateTimeOffset ReadTime(DbDataReader reader, int ordinal);

    /// <summary>Writes an event to the outbox inside the change's transaction.</summary>
    void EnqueueEvent(DbConnection connection, DbTransaction transaction, MeshMessage message);
}

/// <summary>One schema step; applied once, in order, and recorded in <c>schema_version</c>.</summary>
/// <param name="Version">Position in the sequence, starting at 1.</param>
/// <param name="Name">What the step does.</param>
/// <param name="Sql">Statements run in one transaction.</param>
public sealed record Migration(int Version, string Name, string Sql);
