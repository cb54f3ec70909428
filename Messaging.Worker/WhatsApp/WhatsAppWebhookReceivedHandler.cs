using System.Text.Json;
using Dapper;
using Funnels.Contracts;
using Funnels.Messaging.Runs;
using Funnels.Messaging.Triggers;
using Funnels.ServiceDefaults.Contacts;
using Funnels.ServiceDefaults.Messaging;
using Npgsql;
using Wolverine;

namespace Funnels.Messaging.WhatsApp;

/// <summary>
/// Records a Meta delivery's messages and statuses per workspace, channel and contact, and routes
/// each new message (<see cref="InboundRoutes"/>): to the run of that contact waiting for a reply,
/// and/or to the flows whose trigger phrase it matches, whose runs start in the same transaction (<see cref="RunStarter"/>:
/// a flow that fails to start takes the ExecuteTrigger path instead). One transaction for the
/// delivery; every message is keyed by its wamid, so Meta's retries (new deliveries carrying the
/// same messages) change nothing.
/// </summary>
public static class WhatsAppWebhookReceivedHandler
{
    public static async Task Handle(
        WhatsAppWebhookReceived message, IMessageContext bus, NpgsqlDataSource dataSource, RunStarter starter, FlowMetrics metrics, ILogger<InboundMessage> logger, CancellationToken cancellationToken)
    {
        var (messages, statuses) = CloudApiPayload.Parse(message.Payload);
        var errors = CloudApiErrors.Parse(message.Payload);
        var workspaces = message.Channels.ToDictionary(c => c.PhoneNumberId, c => c.WorkspaceId);
        var started = await bus.InOutboxTransactionAsync(dataSource, async transaction =>
        {
            var connection = transaction.Connection!;
            foreach (var status in statuses)
            {
                if (!workspaces.TryGetValue(status.PhoneNumberId, out var workspace)) continue;
                await connection.ExecuteAsync("""
                    INSERT INTO messaging.message_statuses (workspace_id, wamid, status, recipient_id, errors, reported_at)
                    VALUES (@workspace, @Wamid, @Status, @RecipientId, @Errors::jsonb, @ReportedAt) ON CONFLICT DO NOTHING
                    """, new { workspace, status.Wamid, status.Status, status.RecipientId, status.Errors, status.ReportedAt }, transaction);
                await DeliveryStatuses.ApplyAsync(transaction, workspace, status, metrics, logger);
            }
            foreach (var error in errors)
            {
                if (workspaces.TryGetValue(error.PhoneNumberId, out var workspace)) await DeliveryStatuses.RecordAsync(transaction, message.EventId, workspace, error, metrics, logger);
            }
            // Every phrase a message of the delivery could match, normalised in one query.
            var candidates = messages.SelectMany(m => m.MatchCandidates()).Distinct().ToArray();
            var normalized = candidates.Zip(await Phrases.NormalizeAsync(connection, transaction, candidates)).ToDictionary(p => p.First, p => p.Second);
            var triggers = new List<QueuedTrigger>();
            foreach (var inbound in messages)
            {
                if (!workspaces.TryGetValue(inbound.PhoneNumberId, out var workspace))
                {
                    logger.LogWarning("WhatsApp message {Wamid} for phone-number id {PhoneNumberId} ignored: no workspace claimed that number", inbound.Wamid, inbound.PhoneNumberId);
                    continue;
                }
                var contact = await Contacts.UpsertAsync(transaction, workspace, inbound.WaId, inbound.Phone, inbound.ContactName);
                var phrases = inbound.MatchCandidates().Select(c => normalized[c]).Distinct().ToArray();
                if (await InboundRoutes.RouteAsync(transaction, workspace, contact, inbound, phrases, metrics, logger) is not { } route) continue;
                if (route.Reply is { } reply) await bus.PublishAsync(reply);
                triggers.AddRange(route.Triggers);
            }
            return await starter.StartInlineAsync(transaction, bus, triggers, cancellationToken);
        }, cancellationToken);
        if (started is not null)
        {
            await started.FlushOutgoingMessagesAsync(); // after the commit, like the delivery's own messages
        }
    }
}

/// <summary>Contacts are upserted by WhatsApp id, falling back to the phone (a contact first known from a lead).</summary>
public static class Contacts
{
    /// <summary>
    /// The wa_id and phone are normalised here, for every caller (PhoneNumbers): "+16505551234" and
    /// "16505551234" are one contact with wa_id "16505551234" and phone "+16505551234", never "++...".
    /// </summary>
    public static Task<Guid> UpsertAsync(NpgsqlTransaction transaction, Guid workspace, string waId, string? phone, string? name)
    {
        waId = PhoneNumbers.Digits(waId) ?? waId;
        phone = PhoneNumbers.E164(phone) ?? PhoneNumbers.E164(waId);
        return transaction.Connection!.QuerySingleAsync<Guid>("""
            WITH existing AS (
                SELECT id FROM messaging.contacts WHERE workspace_id = @workspace AND (wa_id = @waId OR (@phone IS NOT NULL AND phone = @phone))
                ORDER BY (wa_id = @waId) DESC LIMIT 1 FOR UPDATE
            ), updated AS (
                UPDATE messaging.contacts c SET phone = COALESCE(@phone, c.phone), name = COALESCE(@name, c.name), updated_at = now()
                FROM existing e WHERE c.id = e.id RETURNING c.id
            ), inserted AS (
                INSERT INTO messaging.contacts (id, workspace_id, wa_id, phone, name)
                SELECT @id, @workspace, @waId, @phone, @name WHERE NOT EXISTS (SELECT 1 FROM existing)
                ON CONFLICT (workspace_id, wa_id) DO UPDATE SET phone = COALESCE(EXCLUDED.phone, contacts.phone), name = COALESCE(EXCLUDED.name, contacts.name), updated_at = now()
                RETURNING id
            )
            SELECT id FROM updated UNION ALL SELECT id FROM inserted
            """, new { id = Guid.CreateVersion7(), workspace, waId, phone, name }, transaction);
    }
}
