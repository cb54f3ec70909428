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

/// <summary>
/// The database's own counters (pg_stat_database): transactions committed and rows written, so a
/// scenario can say how much database work one operation is compared with one pgbench INSERT.
/// </summary>
public sealed record DatabaseWork(long Commits, long RowsWritten)
{
    public static async Task<DatabaseWork> ReadAsync(NpgsqlDataSource database)
    {
        // Backends flush their counters at most about once a second: give the last ones time to land.
        await Task.Delay(1100);
        await using var command = database.CreateCommand("""
            SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = current_database()
            """);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new DatabaseWork(reader.GetInt64(0), reader.GetInt64(1));
    }
}

/// <summary>Waits until no service has a message left to send or to handle, so one scenario's tail does not load the next.</summary>
public static class Quiet
{
    public static async Task<bool> UntilDrainedAsync(NpgsqlDataSource database, TimeSpan timeout)
    {
        var tables = new List<string>();
        await using (var find = database.CreateCommand("""
            SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_name IN ('wolverine_outgoing_envelopes', 'wolverine_incoming_envelopes')
            """))
        await using (var reader = await find.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var table = $"{reader.GetString(0)}.{reader.GetString(1)}";
                // Handled envelopes stay a while for deduplication; scheduled ones are due later.
                tables.Add(reader.GetString(1) == "wolverine_incoming_envelopes" ? $"SELECT count(*) FROM {table} WHERE status = 'Incoming'" : $"SELECT count(*) FROM {table}");
            }
        }
        if (tables.Count == 0)
        {
            return true;
        }
        var pending = "SELECT (" + string.Join(") + (", tables) + ")";
        return await Load.UntilAsync(async () =>
        {
            await using var command = database.CreateCommand(pending);
            return (long)(await command.ExecuteScalarAsync())! == 0;
        }, timeout, TimeSpan.FromMilliseconds(250));
    }
}
