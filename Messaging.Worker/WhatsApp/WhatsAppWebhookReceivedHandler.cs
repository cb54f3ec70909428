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
/// each new message: to the run of that contact waiting for a reply, else to the flows whose
/// trigger phrase it matches, whose runs start in the same transaction (<see cref="RunStarter"/>:
/// a flow that fails to start takes the ExecuteTrigger path instead). One transaction for the
/// delivery; every message is keyed by its wamid, so Meta's retries (new deliveries carrying the
/// same messages) change nothing.
/// </summary>
public static class WhatsAppWebhookReceivedHandler
{
    public static async Task Handle(
        WhatsAppWebhookReceived message, IMessageContext bus, NpgsqlDataSource dataSource, RunStarter starter, ILogger<InboundMessage> logger, CancellationToken cancellationToken)
    {
        var (messages, statuses) = CloudApiPayload.Parse(message.Payload);
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
                var routes = await RecordAsync(transaction, workspace, contact, inbound, phrases);
                if (routes.FirstOrDefault(r => r.Kind == "waiting") is { } waiting)
                {
                    var inboundId = routes.First(r => r.Kind == "inbound").Id;
                    await bus.PublishAsync(new ReplyReceived(waiting.Id, waiting.Number!.Value, inboundId, inbound.Text, inbound.Payload));
                }
                triggers.AddRange(routes.Where(r => r.Kind == "trigger").Select(r => new QueuedTrigger(r.Id, r.FlowId!.Value, r.Number!.Value)));
            }
            return await starter.StartInlineAsync(transaction, bus, triggers, cancellationToken);
        }, cancellationToken);
        if (started is not null)
        {
            await started.FlushOutgoingMessagesAsync(); // after the commit, like the delivery's own messages
        }
    }

    /// <summary>
    /// In one statement: the message inserted by wamid (no row back: seen before, Meta delivered it
    /// again, nothing more happens), the contact's run waiting for a reply, else a queued trigger
    /// for each active flow whose phrase it matches.
    /// </summary>
    private static async Task<List<Route>> RecordAsync(NpgsqlTransaction transaction, Guid workspace, Guid contact, InboundMessage inbound, string[] phrases)
    {
        var input = JsonSerializer.Serialize(new { source = "whatsapp", text = inbound.Text, payload = inbound.Payload, wamid = inbound.Wamid, kind = inbound.Kind });
        return (await transaction.Connection!.QueryAsync<Route>("""
            WITH inbound AS (
                INSERT INTO messaging.inbound_messages (id, workspace_id, phone_number_id, contact_id, wamid, kind, text, payload, raw, sent_at)
                VALUES (@id, @workspace, @PhoneNumberId, @contact, @Wamid, @Kind, @Text, @Payload, @Raw::jsonb, @SentAt)
                ON CONFLICT (workspace_id, wamid) DO NOTHING RETURNING id
            ), waiting AS (
                SELECT id, step FROM messaging.flow_runs
                WHERE contact_id = @contact AND status = 'waiting' AND wait_kind = 'reply' AND EXISTS (SELECT 1 FROM inbound)
                ORDER BY started_at DESC LIMIT 1
            ), triggers AS (
                INSERT INTO messaging.scheduled_triggers (id, workspace_id, flow_id, flow_version, contact_id, phone_number_id, source, source_key, input)
                SELECT gen_random_uuid(), f.workspace_id, f.id, f.version, @contact, @PhoneNumberId, 'whatsapp', @Wamid || ':' || f.id, @input::jsonb
                FROM messaging.flows f
                WHERE f.workspace_id = @workspace AND f.status = 'active' AND EXISTS (SELECT 1 FROM inbound) AND NOT EXISTS (SELECT 1 FROM waiting)
                  -- A flow bound to one of the workspace's numbers answers that number only; one without, any.
                  AND (f.channel_phone_number_id IS NULL OR f.channel_phone_number_id = @PhoneNumberId)
                  AND EXISTS (SELECT 1 FROM messaging.flow_triggers t WHERE t.flow_id = f.id AND t.kind = 'phrase' AND t.phrase = ANY (@phrases))
                ON CONFLICT (source_key) DO NOTHING RETURNING id, flow_id, flow_version
            )
            SELECT 'inbound' AS kind, id, NULL::uuid AS flow_id, NULL::integer AS number FROM inbound
            UNION ALL SELECT 'waiting', id, NULL, step FROM waiting
            UNION ALL SELECT 'trigger', id, flow_id, flow_version FROM triggers
            """, new { id = Guid.CreateVersion7(), workspace, contact, inbound.PhoneNumberId, inbound.Wamid, inbound.Kind, inbound.Text, inbound.Payload, inbound.Raw, inbound.SentAt, input, phrases }, transaction)).ToList();
    }

    private sealed record Route(string Kind, Guid Id, Guid? FlowId, int? Number);
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
