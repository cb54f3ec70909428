using System.Text.Json;
using Dapper;
using Funnels.Contracts;
using Funnels.Messaging.Runs;
using Funnels.Messaging.Triggers;
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
                var inboundId = await connection.QuerySingleOrDefaultAsync<Guid?>("""
                    INSERT INTO messaging.inbound_messages (id, workspace_id, phone_number_id, contact_id, wamid, kind, text, payload, raw, sent_at)
                    VALUES (@id, @workspace, @PhoneNumberId, @contact, @Wamid, @Kind, @Text, @Payload, @Raw::jsonb, @SentAt)
                    ON CONFLICT (workspace_id, wamid) DO NOTHING RETURNING id
                    """, new { id = Guid.CreateVersion7(), workspace, contact, inbound.PhoneNumberId, inbound.Wamid, inbound.Kind, inbound.Text, inbound.Payload, inbound.Raw, inbound.SentAt }, transaction);
                if (inboundId is null)
                {
                    continue; // seen before: Meta delivered it again
                }
                var phrases = inbound.MatchCandidates().Select(c => normalized[c]).Distinct().ToArray();
                triggers.AddRange(await RouteAsync(transaction, bus, workspace, contact, inboundId.Value, inbound, phrases));
            }
            return await starter.StartInlineAsync(transaction, bus, triggers, cancellationToken);
        }, cancellationToken);
        if (started is not null)
        {
            await started.FlushOutgoingMessagesAsync(); // after the commit, like the delivery's own messages
        }
    }

    private static async Task<IEnumerable<QueuedTrigger>> RouteAsync(
        NpgsqlTransaction transaction, IMessageContext bus, Guid workspace, Guid contact, Guid inboundId, InboundMessage inbound, string[] phrases)
    {
        var connection = transaction.Connection!;
        var waiting = await connection.QuerySingleOrDefaultAsync<WaitingRun>("""
            SELECT id, step FROM messaging.flow_runs WHERE contact_id = @contact AND status = 'waiting' AND wait_kind = 'reply'
            ORDER BY started_at DESC LIMIT 1
            """, new { contact }, transaction);
        if (waiting is not null)
        {
            await bus.PublishAsync(new ReplyReceived(waiting.Id, waiting.Step, inboundId, inbound.Text, inbound.Payload));
            return [];
        }

        if (phrases.Length == 0) return [];
        var input = JsonSerializer.Serialize(new { source = "whatsapp", text = inbound.Text, payload = inbound.Payload, wamid = inbound.Wamid, kind = inbound.Kind });
        return await connection.QueryAsync<QueuedTrigger>("""
            INSERT INTO messaging.scheduled_triggers (id, workspace_id, flow_id, flow_version, contact_id, phone_number_id, source, source_key, input)
            SELECT gen_random_uuid(), f.workspace_id, f.id, f.version, @contact, @PhoneNumberId, 'whatsapp', @Wamid || ':' || f.id, @input::jsonb
            FROM messaging.flows f
            WHERE f.workspace_id = @workspace AND f.status = 'active'
              AND EXISTS (SELECT 1 FROM messaging.flow_triggers t WHERE t.flow_id = f.id AND t.kind = 'phrase' AND t.phrase = ANY (@phrases))
            ON CONFLICT (source_key) DO NOTHING RETURNING id, flow_id, flow_version
            """, new { workspace, contact, inbound.PhoneNumberId, inbound.Wamid, input, phrases }, transaction);
    }

    private sealed record WaitingRun(Guid Id, int Step);
}

/// <summary>Contacts are upserted by WhatsApp id, falling back to the phone (a contact first known from a lead).</summary>
public static class Contacts
{
    public static async Task<Guid> UpsertAsync(NpgsqlTransaction transaction, Guid workspace, string waId, string? phone, string? name)
    {
        var connection = transaction.Connection!;
        var existing = await connection.QuerySingleOrDefaultAsync<Guid?>("""
            SELECT id FROM messaging.contacts WHERE workspace_id = @workspace AND (wa_id = @waId OR (@phone IS NOT NULL AND phone = @phone))
            ORDER BY (wa_id = @waId) DESC LIMIT 1 FOR UPDATE
            """, new { workspace, waId, phone }, transaction);
        if (existing is { } id)
        {
            await connection.ExecuteAsync(
                "UPDATE messaging.contacts SET phone = COALESCE(@phone, phone), name = COALESCE(@name, name), updated_at = now() WHERE id = @id",
                new { id, phone, name }, transaction);
            return id;
        }
        return await connection.QuerySingleAsync<Guid>("""
            INSERT INTO messaging.contacts (id, workspace_id, wa_id, phone, name) VALUES (@id, @workspace, @waId, @phone, @name)
            ON CONFLICT (workspace_id, wa_id) DO UPDATE SET phone = COALESCE(EXCLUDED.phone, contacts.phone), name = COALESCE(EXCLUDED.name, contacts.name), updated_at = now()
            RETURNING id
            """, new { id = Guid.CreateVersion7(), workspace, waId, phone, name }, transaction);
    }
}
