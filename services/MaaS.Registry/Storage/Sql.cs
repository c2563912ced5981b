using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace MaaS.Registry.Storage;

/// <summary>Small helpers that keep the stores' ADO.NET code to the SQL itself.</summary>
internal static class Sql
{
    /// <summary>How JSON columns are written and read.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A command with named parameters (<c>$name</c>).</summary>
    public static SqliteCommand Command(this SqliteConnection connection, string sql, SqliteTransaction? transaction,
        params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }

    /// <summary>Runs a statement; returns the rows changed.</summary>
    public static int Execute(this SqliteConnection connection, string sql, SqliteTransaction? transaction = null,
        params (string Name, object? Value)[] parameters)
    {
        using var command = connection.Command(sql, transaction, parameters);
        return command.ExecuteNonQuery();
    }

    /// <summary>Runs a query; returns the first column of the first row.</summary>
    public static object? Scalar(this SqliteConnection connection, string sql, SqliteTransaction? transaction = null,
        params (string Name, object? Value)[] parameters)
    {
        using var command = connection.Command(sql, transaction, parameters);
        var value = command.ExecuteScalar();
        return value is DBNull ? null : value;
    }

    /// <summary>The current time as stored: ISO 8601 UTC, which also sorts as text.</summary>
    public static string Now() => ToText(DateTimeOffset.UtcNow);

    /// <summary>A time as stored.</summary>
    public static string ToText(DateTimeOffset time) => time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>A stored time.</summary>
    public static DateTimeOffset ToTime(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    /// <summary>A stored time as a protobuf timestamp.</summary>
    public static Google.Protobuf.WellKnownTypes.Timestamp ToTimestamp(string text) =>
        Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(ToTime(text));

    /// <summary>A value as a JSON column.</summary>
    public static string ToJson<T>(T value) => JsonSerializer.Serialize(value, Json);

    /// <summary>A JSON column as a value.</summary>
    public static T FromJson<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Json) ?? throw new InvalidDataException($"A JSON column holds null where a {typeof(T).Name} was expected.");
}
