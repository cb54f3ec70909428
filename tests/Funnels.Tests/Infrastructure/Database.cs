using Dapper;
using Npgsql;

namespace Funnels.Tests.Infrastructure;

/// <summary>Direct reads of what the services wrote, to check effects (and their absence).</summary>
public static class Database
{
    public static async Task<long> CountAsync(this Servers servers, string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(servers.Postgres);
        return await connection.ExecuteScalarAsync<long>(sql, parameters);
    }

    public static async Task<T?> ScalarAsync<T>(this Servers servers, string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(servers.Postgres);
        return await connection.ExecuteScalarAsync<T>(sql, parameters);
    }

    /// <summary>Everything a workspace has in the lead tables: a rejected request must leave this unchanged.</summary>
    public static Task<long> LeadRowsAsync(this Servers servers, Guid workspaceId) => servers.CountAsync("""
        SELECT (SELECT count(*) FROM runtime.leads WHERE workspace_id = @workspaceId)
             + (SELECT count(*) FROM runtime.lead_events WHERE workspace_id = @workspaceId)
        """, new { workspaceId });
}
