using Dapper;
using Npgsql;

namespace Funnels.Tests.Infrastructure;

/// <summary>
/// Proof that messages were consumed, read from a service's Wolverine durable inbox
/// (<c>&lt;schema&gt;_wolverine.wolverine_incoming_envelopes</c>). Wolverine marks an envelope
/// Handled only after its handler returned, so after our handlers' own transactions committed,
/// and keeps it five minutes. A test that asserts something did not happen waits here for the
/// message that could have caused it, instead of sleeping and hoping it would have shown by then.
/// </summary>
public static class Inbox
{
    private static readonly TimeSpan DefaultBound = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Waits until at least <paramref name="handled"/> envelopes of <paramref name="messageType"/>
    /// (the class name, e.g. <c>ResumeRun</c>) whose body mentions any of <paramref name="mentions"/>
    /// are Handled in <paramref name="service"/>'s inbox, and none of them is still waiting
    /// (incoming, retrying or scheduled). Dead-lettered ones count as neither, so the wait times out.
    /// </summary>
    public static async Task HandledAsync(
        this Servers servers, string service, string messageType, IEnumerable<string> mentions, int handled = 1, TimeSpan? within = null)
    {
        var ids = mentions.Distinct().ToArray();
        var sql = $"""
            SELECT count(*) FILTER (WHERE status = 'Handled') AS handled, count(*) FILTER (WHERE status <> 'Handled') AS waiting
            FROM {service}_wolverine.wolverine_incoming_envelopes e
            WHERE (message_type = @messageType OR message_type LIKE '%.' || @messageType)
              AND EXISTS (SELECT 1 FROM unnest(@ids) AS m(id) WHERE position(convert_to(m.id, 'UTF8') IN e.body) > 0)
            """;
        (long Handled, long Waiting) last = default;
        await Eventually.Until(async () =>
        {
            await using var connection = new NpgsqlConnection(servers.Postgres);
            last = await connection.QuerySingleAsync<(long, long)>(sql, new { messageType, ids });
            return last.Handled >= handled && last.Waiting == 0 ? (bool?)true : null;
        }, within ?? DefaultBound, () =>
            $"{handled} {messageType} handled by {service} (mentioning {string.Join(", ", ids.Take(3))}{(ids.Length > 3 ? ", …" : "")}; " +
            $"last seen {last.Handled} handled, {last.Waiting} waiting)");
    }

    public static Task HandledAsync(this Servers servers, string service, string messageType, string mention, int handled = 1, TimeSpan? within = null) =>
        servers.HandledAsync(service, messageType, [mention], handled, within);

    public static Task HandledAsync(this Servers servers, string service, string messageType, Guid mention, int handled = 1, TimeSpan? within = null) =>
        servers.HandledAsync(service, messageType, [mention.ToString()], handled, within);

    /// <summary>Every Graph API send of a run consumed: none is waiting, retrying or scheduled.</summary>
    public static Task SendsOfRunHandledAsync(this Servers servers, Guid runId, TimeSpan? within = null) =>
        servers.SendsHandledAsync("SELECT id FROM messaging.outbound_messages WHERE run_id = @id", runId, within);

    /// <summary>Every Graph API send of every run of a flow consumed.</summary>
    public static Task SendsOfFlowHandledAsync(this Servers servers, Guid flowId, TimeSpan? within = null) =>
        servers.SendsHandledAsync("SELECT o.id FROM messaging.outbound_messages o JOIN messaging.flow_runs r ON r.id = o.run_id WHERE r.flow_id = @id", flowId, within);

    /// <summary>Every webhook delivery of a workspace consumed (delivered, or given up on).</summary>
    public static async Task WebhookDeliveriesHandledAsync(this Servers servers, Guid workspaceId, TimeSpan? within = null)
    {
        var deliveries = await IdsAsync(servers, "SELECT id FROM messaging.webhook_deliveries WHERE workspace_id = @id", workspaceId);
        await servers.HandledAsync("messaging", "DeliverWebhook", deliveries, deliveries.Length, within);
    }

    private static async Task SendsHandledAsync(this Servers servers, string outboundSql, Guid id, TimeSpan? within)
    {
        var outbound = await IdsAsync(servers, outboundSql, id);
        await servers.HandledAsync("messaging", "SendWhatsAppMessage", outbound, outbound.Length, within);
    }

    private static async Task<string[]> IdsAsync(Servers servers, string sql, Guid id)
    {
        await using var connection = new NpgsqlConnection(servers.Postgres);
        return (await connection.QueryAsync<Guid>(sql, new { id })).Select(g => g.ToString()).ToArray();
    }
}
