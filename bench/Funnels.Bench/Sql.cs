using Npgsql;

namespace Funnels.Bench;

/// <summary>What the bench reads straight from the database: the system's own records of what it did.</summary>
public static class Sql
{
    public static async Task<long> CountAsync(NpgsqlDataSource database, string sql, (string Name, object Value) parameter)
    {
        await using var command = database.CreateCommand(sql);
        command.Parameters.AddWithValue(parameter.Name, parameter.Value);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
