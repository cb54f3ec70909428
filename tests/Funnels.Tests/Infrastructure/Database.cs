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

    /// <summary>
    /// Everything a lead write leaves, wider than <see cref="LeadRowsAsync"/>: the workspace's leads,
    /// their states and events, the Idempotency-Key claims under its funnels' slugs, its visitor
    /// contacts, and the lead messages (LeadCaptured, LeadAdvanced …) naming it in any service's
    /// outbox, inbox or dead letters. A refused request must leave this at 0.
    /// </summary>
    public static async Task<long> LeadFootprintAsync(this Servers servers, Guid workspaceId)
    {
        await using var connection = new NpgsqlConnection(servers.Postgres);
        var envelopes = (await connection.QueryAsync<string>("""
            SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
            WHERE table_schema LIKE '%\_wolverine'
              AND table_name IN ('wolverine_outgoing_envelopes', 'wolverine_incoming_envelopes', 'wolverine_dead_letters')
            """)).Select(t => $"(SELECT count(*) FROM {t} WHERE message_type LIKE '%Lead%' AND position(convert_to(@id, 'UTF8') IN body) > 0)");
        return await connection.ExecuteScalarAsync<long>($"""
            SELECT (SELECT count(*) FROM runtime.leads WHERE workspace_id = @workspaceId)
                 + (SELECT count(*) FROM runtime.lead_states s JOIN runtime.leads l ON l.id = s.lead_id WHERE l.workspace_id = @workspaceId)
                 + (SELECT count(*) FROM runtime.lead_events WHERE workspace_id = @workspaceId)
                 + (SELECT count(*) FROM runtime.idempotency_keys k
                    WHERE k.scope IN (SELECT 'events:' || f.slug FROM runtime.funnels f WHERE f.workspace_id = @workspaceId))
                 + (SELECT count(*) FROM runtime.visitor_contacts WHERE workspace_id = @workspaceId)
                 + {string.Join(" + ", envelopes.DefaultIfEmpty("0"))}
            """, new { workspaceId, id = workspaceId.ToString() });
    }
}
