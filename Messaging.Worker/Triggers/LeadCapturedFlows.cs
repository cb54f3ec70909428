using System.Text.Json;
using Dapper;
using Funnels.Contracts;
using Funnels.Messaging.Runs;
using Funnels.Messaging.WhatsApp;
using Funnels.ServiceDefaults.Contacts;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.Triggers;

/// <summary>
/// Starts the flows whose trigger is a funnel's lead capture, for a lead that left a phone number
/// (its WhatsApp id is the number's digits), inside LeadCapturedHandler's outbox transaction.
/// Idempotent on its own: one trigger per lead and flow (source_key).
/// </summary>
public static class LeadCapturedFlows
{
    // The flows a lead of this workspace and funnel starts (parameters @WorkspaceId, @FunnelId).
    private const string Matching = """
        FROM messaging.flows f JOIN messaging.flow_triggers t ON t.flow_id = f.id
        WHERE f.workspace_id = @WorkspaceId AND f.status = 'active' AND f.channel_phone_number_id IS NOT NULL
          AND t.kind = 'lead_captured' AND (t.funnel_id IS NULL OR t.funnel_id = @FunnelId)
        """;

    /// <summary>SQL for "does this lead start any flow" (parameters @WorkspaceId, @FunnelId), to ask without a transaction first.</summary>
    public const string AnyMatching = "EXISTS (SELECT 1 " + Matching + ")";

    /// <summary>The WhatsApp id of the lead's phone, or null when it left none usable.</summary>
    public static string? Digits(LeadCaptured message) => PhoneNumbers.Digits(message.Phone);

    public static async Task StartAsync(NpgsqlTransaction transaction, IMessageContext bus, LeadCaptured message, string digits)
    {
        var connection = transaction.Connection!;
        var flows = (await connection.QueryAsync<Guid>("SELECT DISTINCT f.id " + Matching, message, transaction)).ToArray();
        if (flows.Length == 0)
        {
            return;
        }
        var name = message.FormData.ValueKind == JsonValueKind.Object && message.FormData.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        var contact = await Contacts.UpsertAsync(transaction, message.WorkspaceId, digits, PhoneNumbers.E164(digits), name);
        var input = JsonSerializer.Serialize(new { source = "lead_captured", lead_id = message.LeadId, funnel_id = message.FunnelId, email = message.Email, form_data = message.FormData });
        var triggers = await connection.QueryAsync<Guid>("""
            INSERT INTO messaging.scheduled_triggers (id, workspace_id, flow_id, flow_version, contact_id, phone_number_id, source, source_key, input)
            SELECT gen_random_uuid(), f.workspace_id, f.id, f.version, @contact, f.channel_phone_number_id, 'lead_captured', 'lead:' || @LeadId || ':' || f.id, @input::jsonb
            FROM messaging.flows f WHERE f.id = ANY (@flows)
            ON CONFLICT (source_key) DO NOTHING RETURNING id
            """, new { contact, message.LeadId, input, flows }, transaction);
        foreach (var trigger in triggers)
        {
            await bus.PublishAsync(new ExecuteTrigger(trigger));
        }
    }
}
